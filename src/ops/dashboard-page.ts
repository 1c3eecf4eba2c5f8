/**
 * The live page: static HTML and its script (no framework, no CDN); data comes
 * from /events, read with fetch so it can carry the token when the daemon has
 * one (it then answers 401 until the page is given it).
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>instant-provisioner</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
.counts span{display:inline-block;margin-right:1rem;padding:.3rem .6rem;border-radius:4px;background:#eef}
table{border-collapse:collapse;margin-top:.5rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
.spinner{display:inline-block;width:10px;height:10px;border:2px solid #99c;border-top-color:transparent;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
.failed{color:#b00}.blocked{color:#b00;font-weight:bold}.paced{color:#a60}
</style></head><body>
<h1>instant-provisioner</h1>
<div id="gate">connecting…</div>
<div class="counts" id="counts"></div>
<svg id="chart" width="600" height="120" role="img" aria-label="throughput and time to link"></svg>
<div id="token-box" hidden><label>Token <input id="token" type="password"></label></div>
<h2>Newest tasks</h2><table><tbody id="newest"></tbody></table>
<h2>Detached and retained</h2><table><tbody id="kept"></tbody></table>
<script src="/dashboard.js"></script>
</body></html>`;

export const DASHBOARD_SCRIPT = `(() => {
  const $ = (id) => document.getElementById(id);
  const tokenInput = $('token');
  tokenInput.value = sessionStorage.getItem('provisioner-token') || '';
  let typing = 0;
  tokenInput.addEventListener('input', () => {
    sessionStorage.setItem('provisioner-token', tokenInput.value);
    clearTimeout(typing);
    typing = setTimeout(connect, 300);
  });
  const cell = (text) => { const td = document.createElement('td'); td.textContent = text ?? ''; return td; };
  function row(record, actions) {
    const tr = document.createElement('tr');
    if (record.taskId) tr.dataset.taskId = record.taskId;
    tr.dataset.status = record.status;
    const status = cell('');
    if (record.status === 'provisioning') { const s = document.createElement('span'); s.className = 'spinner'; status.append(s, ' provisioning'); }
    else status.textContent = record.status;
    tr.append(status, cell(record.name), cell(record.appId));
    const extra = cell('');
    if (record.appId) {
      const copy = document.createElement('button'); copy.textContent = 'Copy';
      copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(record.appId);
      extra.append(copy);
    }
    if (record.status === 'failed') {
      tr.className = 'failed';
      extra.append(record.error || '');
      if (actions.retry) {
        const retry = document.createElement('button'); retry.textContent = 'Retry'; retry.className = 'retry';
        retry.onclick = async () => {
          const answer = await fetch('/api/retry', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + tokenInput.value }, body: JSON.stringify({ taskId: record.taskId }) });
          if (!answer.ok) alert('retry: HTTP ' + answer.status);
        };
        extra.append(' ', retry);
      }
    }
    tr.append(extra);
    return tr;
  }
  function chart(buckets) {
    const svg = $('chart'); const w = 600, h = 120;
    const max = Math.max(1, ...buckets.map((b) => b.ready));
    const maxT = Math.max(1, ...buckets.map((b) => b.meanTimeToLinkMs || 0));
    const step = w / buckets.length;
    let bars = '', line = '';
    buckets.forEach((b, i) => {
      const bh = (b.ready / max) * (h - 20);
      bars += '<rect x="' + (i * step) + '" y="' + (h - bh) + '" width="' + (step - 1) + '" height="' + bh + '" fill="#99c"></rect>';
      if (b.meanTimeToLinkMs !== null) line += (line ? ' L' : 'M') + (i * step + step / 2) + ' ' + (h - (b.meanTimeToLinkMs / maxT) * (h - 20));
    });
    svg.innerHTML = bars + (line ? '<path d="' + line + '" stroke="#c60" fill="none"></path>' : '') +
      '<text x="4" y="12" font-size="11">ready per ' + 10 + ' s (bars, max ' + max + '), mean time to link (line, max ' + maxT + ' ms)</text>';
  }
  function render(s) {
    const g = s.gate;
    $('gate').className = g.state;
    $('gate').textContent = 'Platform API: ' + (g.state === 'ok' ? 'ok' : g.state === 'paced' ? 'paced until ' + g.until : 'blocked (' + g.reason + '): ' + g.message + ' next probe ' + g.nextProbeAt) + (s.ready ? '' : ' · not ready: ' + s.reasons.join(', '));
    $('counts').replaceChildren(...Object.entries(s.counts || {}).map(([k, v]) => { const e = document.createElement('span'); e.id = 'count-' + k; e.textContent = k + ' ' + v; return e; }));
    $('token-box').hidden = !s.actions.retry;
    chart(s.throughput.buckets);
    $('newest').replaceChildren(...s.newest.map((r) => row(r, s.actions)));
    $('kept').replaceChildren(...s.detached.concat(s.retained).map((r) => row(r, { retry: false })));
  }
  let stream = null;
  async function connect() {
    if (stream) stream.abort();
    const controller = (stream = new AbortController());
    const token = tokenInput.value;
    try {
      const answer = await fetch('/events', { signal: controller.signal, headers: token ? { authorization: 'Bearer ' + token } : {} });
      if (answer.status === 401) {
        $('token-box').hidden = false;
        $('gate').textContent = token ? 'wrong token' : 'this daemon shows its data only with its token (--http-token)';
        return;
      }
      if (!answer.ok) throw new Error('HTTP ' + answer.status);
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\\n\\n'); end >= 0; end = buffer.indexOf('\\n\\n')) {
          const data = buffer.slice(0, end).split('\\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\\n');
          buffer = buffer.slice(end + 2);
          if (data) render(JSON.parse(data));
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    if (!controller.signal.aborted) setTimeout(connect, 2000);
  }
  connect();
})();`;
