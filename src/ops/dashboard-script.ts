/**
 * The live page's script, written as one self-contained function (type-checked like the rest,
 * served as its source text): it reads the snapshot stream (/events, with fetch so it can carry the
 * token), draws the counts, the throughput chart with its axes and units, and the record tables
 * with each row's age (ticking) and time to ready, errors in full, and empty states that say what
 * is empty. It references nothing outside itself.
 */
function liveDashboard(): void {
  type Listed = {
    taskId: string | null;
    name: string;
    status: string;
    appId: string | null;
    error: string | null;
    attempts: number;
    createdAt: string;
    readyAt: string | null;
    detachedAt: string | null;
  };
  type Bucket = { start: number; ready: number; meanTimeToLinkMs: number | null; maxTimeToLinkMs: number | null };
  type Snapshot = {
    generatedAt: string;
    ready: boolean;
    reasons: string[];
    gate: { state: string; until?: string; reason?: string; message?: string; nextProbeAt?: string };
    counts: Record<string, number> | null;
    activity: {
      createsInFlight: number;
      orphansDeleted: number;
      lastPlatformFailure: { operation: string; outcome: string; at: string } | null;
    };
    throughput: { bucketMs: number; buckets: Bucket[] };
    newest: Listed[];
    detached: Listed[];
    retained: Listed[];
    catalogError: string | null;
    actions: { retry: boolean };
  };

  const $ = (id: string) => document.getElementById(id)!;
  const tokenInput = $('token') as HTMLInputElement;
  tokenInput.value = sessionStorage.getItem('provisioner-token') || '';
  let typing = 0;
  tokenInput.addEventListener('input', () => {
    sessionStorage.setItem('provisioner-token', tokenInput.value);
    clearTimeout(typing);
    typing = window.setTimeout(connect, 300);
  });

  /** A duration as people read it: 340 ms, 4.2 s, 3 min 12 s, 2 h 5 min, 3 d 4 h. */
  function duration(ms: number): string {
    if (ms < 1000) return Math.max(0, Math.round(ms)) + ' ms';
    const s = ms / 1000;
    if (s < 60) return (s < 10 ? s.toFixed(1) : String(Math.round(s))) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
    const h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + (m % 60) + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  function element(tag: string, className?: string, text?: string | null): HTMLElement {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function cell(text: string | null, className?: string): HTMLTableCellElement {
    return element('td', className, text ?? '—') as HTMLTableCellElement;
  }
  /** A cell showing how long ago `iso` was, kept current by tick(). */
  function ageCell(iso: string | null): HTMLTableCellElement {
    const td = cell(null, 'num age');
    if (iso) {
      td.dataset.since = String(Date.parse(iso));
      td.title = iso;
      td.textContent = duration(Date.now() - Date.parse(iso));
    }
    return td;
  }
  function tick(): void {
    for (const td of document.querySelectorAll<HTMLElement>('[data-since]'))
      td.textContent = duration(Date.now() - Number(td.dataset.since));
  }
  window.setInterval(tick, 1000);

  function statusCell(record: Listed): HTMLTableCellElement {
    const td = cell(null, 'status');
    const badge = element('span', 'badge badge-' + record.status);
    if (record.status === 'provisioning' || record.status === 'copying') badge.append(element('span', 'spinner'), ' ');
    badge.append(record.status);
    td.replaceChildren(badge);
    return td;
  }

  async function retry(taskId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    const answer = await fetch('/api/retry', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + tokenInput.value },
      body: JSON.stringify({ taskId }),
    });
    button.disabled = false;
    if (!answer.ok) alert('retry: HTTP ' + answer.status);
  }

  /** A record's row, and its error in full on a row of its own beneath. */
  function rows(record: Listed, retryAllowed: boolean, kept: boolean): HTMLTableRowElement[] {
    const tr = document.createElement('tr');
    if (record.taskId) tr.dataset.taskId = record.taskId;
    tr.dataset.status = record.status;
    const appId = cell(record.appId, 'mono app-id');
    if (record.appId && navigator.clipboard) {
      const copy = element('button', 'copy', 'Copy') as HTMLButtonElement;
      copy.type = 'button';
      copy.setAttribute('aria-label', 'Copy app id ' + record.appId);
      copy.onclick = () => void navigator.clipboard.writeText(record.appId!);
      appId.append(' ', copy);
    }
    tr.append(statusCell(record), cell(record.name, 'mono db-name'), appId);
    if (kept) {
      tr.append(ageCell(record.detachedAt));
    } else {
      tr.append(ageCell(record.createdAt));
      const toReady = cell(null, 'num time-to-ready');
      if (record.readyAt) toReady.textContent = duration(Date.parse(record.readyAt) - Date.parse(record.createdAt));
      else if (record.status === 'provisioning' || record.status === 'copying') toReady.textContent = 'not yet';
      tr.append(toReady, cell(String(record.attempts), 'num'));
    }
    const actions = cell(null, 'actions');
    actions.textContent = '';
    if (record.status === 'failed' && retryAllowed && record.taskId) {
      const button = element('button', 'retry', 'Retry') as HTMLButtonElement;
      button.type = 'button';
      const taskId = record.taskId;
      button.onclick = () => void retry(taskId, button);
      actions.append(button);
    }
    tr.append(actions);
    if (!record.error) return [tr];
    tr.classList.add('has-error');
    const errorRow = element('tr', 'error-row') as HTMLTableRowElement;
    const td = cell(null, 'error');
    td.colSpan = kept ? 5 : 7;
    td.replaceChildren(element('span', 'error-label', 'error '), element('span', 'error-text', record.error));
    errorRow.append(td);
    return [tr, errorRow];
  }

  /** A table body's rows, or one row that says what is empty. */
  function fill(
    body: HTMLElement,
    records: Listed[],
    columns: number,
    empty: string,
    make: (r: Listed) => HTMLTableRowElement[],
  ): void {
    if (records.length) return body.replaceChildren(...records.flatMap(make));
    const tr = document.createElement('tr');
    const td = cell(empty, 'empty');
    td.colSpan = columns;
    tr.append(td);
    body.replaceChildren(tr);
  }

  /** A round number ≥ value for an axis's top: 1, 2 or 5 times a power of ten. */
  function niceMax(value: number): number {
    if (value <= 1) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function chart(throughput: Snapshot['throughput']): void {
    const svg = $('chart');
    const { buckets, bucketMs } = throughput;
    const W = 760,
      H = 230,
      left = 52,
      right = 64,
      top = 30,
      bottom = 42;
    const w = W - left - right,
      h = H - top - bottom;
    const maxReady = niceMax(Math.max(0, ...buckets.map((b) => b.ready)));
    const maxTime = niceMax(Math.max(0, ...buckets.map((b) => b.meanTimeToLinkMs ?? 0)));
    const step = w / Math.max(1, buckets.length);
    const y = (v: number, max: number) => top + h - (v / max) * h;
    const parts: string[] = [];
    const text = (x: number, yy: number, s: string, anchor: string, extra = '') =>
      parts.push('<text x="' + x + '" y="' + yy + '" text-anchor="' + anchor + '"' + extra + '>' + s + '</text>');
    // Grid and y ticks: databases ready per bucket on the left (whole numbers), time to link on the right.
    const ticks = Math.min(5, maxReady);
    for (let i = 0; i <= ticks; i++) {
      const yy = top + h - (i / ticks) * h;
      parts.push(
        '<line class="grid" x1="' + left + '" x2="' + (left + w) + '" y1="' + yy + '" y2="' + yy + '"></line>',
      );
      text(left - 6, yy + 4, String((maxReady * i) / ticks), 'end', ' class="tick ready-tick"');
      text(left + w + 6, yy + 4, duration((maxTime * i) / ticks), 'start', ' class="tick time-tick"');
    }
    buckets.forEach((b, i) => {
      if (!b.ready) return;
      const bh = (b.ready / maxReady) * h;
      parts.push(
        '<rect class="bar" x="' +
          (left + i * step + 1) +
          '" y="' +
          (top + h - bh) +
          '" width="' +
          Math.max(1, step - 2) +
          '" height="' +
          bh +
          '"><title>' +
          b.ready +
          ' ready in the 10 s from ' +
          new Date(b.start).toLocaleTimeString() +
          (b.meanTimeToLinkMs === null
            ? ''
            : ', mean time to link ' + duration(b.meanTimeToLinkMs) + ', longest ' + duration(b.maxTimeToLinkMs ?? 0)) +
          '</title></rect>',
      );
    });
    let line = '';
    buckets.forEach((b, i) => {
      if (b.meanTimeToLinkMs === null) return;
      const x = left + i * step + step / 2,
        yy = y(b.meanTimeToLinkMs, maxTime);
      line += (line ? ' L' : 'M') + x + ' ' + yy;
      parts.push('<circle class="dot" cx="' + x + '" cy="' + yy + '" r="2.5"></circle>');
    });
    if (line) parts.push('<path class="line" d="' + line + '"></path>');
    // Axes.
    parts.push(
      '<line class="axis" x1="' + left + '" x2="' + left + '" y1="' + top + '" y2="' + (top + h) + '"></line>',
    );
    parts.push(
      '<line class="axis" x1="' +
        (left + w) +
        '" x2="' +
        (left + w) +
        '" y1="' +
        top +
        '" y2="' +
        (top + h) +
        '"></line>',
    );
    parts.push(
      '<line class="axis" x1="' +
        left +
        '" x2="' +
        (left + w) +
        '" y1="' +
        (top + h) +
        '" y2="' +
        (top + h) +
        '"></line>',
    );
    // x ticks: minutes before now.
    const span = buckets.length * bucketMs;
    for (let minutes = Math.floor(span / 60000); minutes >= 0; minutes -= 2) {
      const x = left + w - ((minutes * 60000) / span) * w;
      parts.push(
        '<line class="axis" x1="' + x + '" x2="' + x + '" y1="' + (top + h) + '" y2="' + (top + h + 4) + '"></line>',
      );
      text(x, top + h + 16, minutes === 0 ? 'now' : '−' + minutes + ' min', 'middle', ' class="tick"');
    }
    text(
      left + w / 2,
      H - 6,
      'time (minutes before now; one bar per ' + bucketMs / 1000 + ' s)',
      'middle',
      ' class="axis-title"',
    );
    text(
      left - 40,
      top - 12,
      'databases ready per ' + bucketMs / 1000 + ' s',
      'start',
      ' class="axis-title ready-title"',
    );
    text(left + w + 60, top - 12, 'mean time to link (claim → ready)', 'end', ' class="axis-title time-title"');
    if (!buckets.some((b) => b.ready))
      text(
        left + w / 2,
        top + h / 2,
        'No database became ready in the last ' + Math.round(span / 60000) + ' minutes',
        'middle',
        ' class="chart-empty"',
      );
    svg.innerHTML = parts.join('');
  }

  function render(s: Snapshot): void {
    const g = s.gate;
    const gate = $('gate');
    gate.className = 'pill gate-' + g.state;
    gate.textContent =
      'Platform API: ' +
      (g.state === 'ok'
        ? 'ok'
        : g.state === 'paced'
          ? 'paced until ' + g.until
          : 'blocked (' + g.reason + '): ' + g.message + '; next probe ' + g.nextProbeAt);
    const ready = $('readiness');
    ready.className = 'pill ' + (s.ready ? 'gate-ok' : 'gate-blocked');
    ready.textContent = s.ready ? 'ready' : 'not ready: ' + s.reasons.join(', ');
    const counts = Object.entries(s.counts || {});
    $('counts').replaceChildren(
      ...(s.counts === null
        ? [element('p', 'empty', 'No record counts yet: the first count of the databases records is running.')]
        : counts.length === 0
          ? [element('p', 'empty', 'No databases records yet: no task has been claimed.')]
          : counts.map(([status, n]) => {
              const card = element('div', 'count badge-' + status);
              card.id = 'count-' + status;
              card.append(element('span', 'count-n', String(n)), element('span', 'count-label', status));
              return card;
            })),
      (() => {
        const card = element('div', 'count');
        card.append(
          element('span', 'count-n', String(s.activity.createsInFlight)),
          element('span', 'count-label', 'creates in flight'),
        );
        return card;
      })(),
    );
    const failure = s.activity.lastPlatformFailure;
    $('last-failure').textContent = failure
      ? 'Last Platform API failure: ' +
        failure.operation +
        ' → ' +
        failure.outcome +
        ', ' +
        duration(Date.now() - Date.parse(failure.at)) +
        ' ago (' +
        failure.at +
        ')'
      : 'No Platform API request has failed since the daemon started.';
    const catalogError = $('catalog-error');
    catalogError.hidden = !s.catalogError;
    catalogError.textContent = s.catalogError
      ? 'The record lists below may be stale: reading them failed: ' + s.catalogError
      : '';
    $('token-box').hidden = !s.actions.retry;
    chart(s.throughput);
    fill($('newest'), s.newest, 7, 'No databases yet: the daemon has not claimed any task.', (r) =>
      rows(r, s.actions.retry, false),
    );
    fill(
      $('kept'),
      s.detached.concat(s.retained),
      5,
      'No detached or retained databases: every database’s task still exists.',
      (r) => rows(r, false, true),
    );
  }

  let stream: AbortController | null = null;
  async function connect(): Promise<void> {
    if (stream) stream.abort();
    const controller = (stream = new AbortController());
    const token = tokenInput.value;
    try {
      const answer = await fetch('/events', {
        signal: controller.signal,
        headers: token ? { authorization: 'Bearer ' + token } : {},
      });
      if (answer.status === 401) {
        $('token-box').hidden = false;
        $('gate').textContent = token ? 'wrong token' : 'this daemon shows its data only with its token (--http-token)';
        return;
      }
      if (!answer.ok || !answer.body) throw new Error('HTTP ' + answer.status);
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          buffer = buffer.slice(end + 2);
          if (data) render(JSON.parse(data) as Snapshot);
        }
      }
    } catch {
      if (controller.signal.aborted) return;
    }
    if (!controller.signal.aborted) window.setTimeout(connect, 2000);
  }
  void connect();
}

/** The script as served at /dashboard.js. */
export const DASHBOARD_SCRIPT = `(${liveDashboard.toString()})();\n`;
