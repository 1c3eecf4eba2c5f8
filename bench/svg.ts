/**
 * The time-to-link chart: the cumulative distribution (share of tasks linked within x ms) of
 * the daemon and of the inline baseline, with the create latency L marked. Plain SVG, written
 * by hand, that any browser opens.
 */
import type { BenchResults, TimeToLinkSummary } from './results.js';

const WIDTH = 760;
const HEIGHT = 440;
const PAD = { left: 64, right: 24, top: 56, bottom: 56 };
const COLORS = { daemon: '#1f6feb', inline: '#d9480f' };

/** Points of the CDF on a grid of `steps` from `from` to `to` ms. */
export function cdfOf(samples: readonly number[], from: number, to: number, steps = 200): Array<[number, number]> {
  const sorted = [...samples].sort((a, b) => a - b);
  const points: Array<[number, number]> = [];
  let i = 0;
  for (let step = 0; step <= steps; step++) {
    const x = from + ((to - from) * step) / steps;
    while (i < sorted.length && sorted[i]! <= x) i++;
    points.push([Math.round(x * 10) / 10, sorted.length ? Math.round((i / sorted.length) * 10_000) / 10_000 : 0]);
  }
  return points;
}

/** The x range both series are drawn over: a little below the fastest to the slower p99.9. */
export function chartRange(daemon: readonly number[], inline: readonly number[]): [number, number] {
  const all = [...daemon, ...inline].sort((a, b) => a - b);
  if (all.length === 0) return [0, 1];
  const low = all[0]!;
  const high = Math.max(quantile(daemon, 0.999), quantile(inline, 0.999));
  const span = Math.max(high - low, 1);
  return [Math.max(0, Math.floor(low - span * 0.05)), Math.ceil(high + span * 0.05)];
}

export function renderTimeToLinkSvg(results: BenchResults): string {
  const { daemon, inline } = results.timeToLink;
  const { latencyMs, concurrency, timeToLink } = results.parameters;
  const xs = [...daemon.cdf, ...inline.cdf].map(([x]) => x);
  const [from, to] = [Math.min(...xs), Math.max(...xs)];
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const sx = (x: number) => PAD.left + ((x - from) / Math.max(to - from, 1e-9)) * plotW;
  const sy = (y: number) => PAD.top + (1 - y) * plotH;
  const parts: string[] = [];

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(PAD.left, 24, 'Time-to-link: task created → seen linked to a ready database', {
      size: 15,
      weight: 'bold',
    }),
    text(
      PAD.left,
      42,
      `${timeToLink.tasks} tasks at ${timeToLink.ratePerSecond}/s; create latency L = ${latencyMs} ms, C = ${concurrency}; ` +
        `${results.machine.cores} cores, Node ${results.machine.node}`,
      { color: '#555' },
    ),
  );

  // Grid and axes.
  for (const y of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    parts.push(line(PAD.left, sy(y), PAD.left + plotW, sy(y), y === 0 ? '#333' : '#e5e5e5'));
    parts.push(text(PAD.left - 8, sy(y) + 4, `${Math.round(y * 100)}%`, { anchor: 'end' }));
  }
  for (const x of ticks(from, to, 8)) {
    parts.push(line(sx(x), PAD.top, sx(x), PAD.top + plotH, '#f0f0f0'));
    parts.push(line(sx(x), PAD.top + plotH, sx(x), PAD.top + plotH + 5, '#333'));
    parts.push(text(sx(x), PAD.top + plotH + 18, `${x}`, { anchor: 'middle' }));
  }
  parts.push(line(PAD.left, PAD.top, PAD.left, PAD.top + plotH, '#333'));
  parts.push(text(PAD.left + plotW / 2, HEIGHT - 14, 'time-to-link (ms)', { anchor: 'middle' }));
  parts.push(
    `<text x="16" y="${PAD.top + plotH / 2}" transform="rotate(-90 16 ${PAD.top + plotH / 2})" ` +
      `text-anchor="middle" fill="#333">share of tasks linked within x</text>`,
  );

  // The create latency: nothing can link faster.
  if (latencyMs >= from && latencyMs <= to) {
    parts.push(
      `<line x1="${f(sx(latencyMs))}" y1="${PAD.top}" x2="${f(sx(latencyMs))}" y2="${PAD.top + plotH}" ` +
        `stroke="#888" stroke-dasharray="4 4"/>`,
      text(sx(latencyMs) + 4, PAD.top + 12, `L = ${latencyMs} ms`, { color: '#666' }),
    );
  }

  parts.push(series(daemon, COLORS.daemon, sx, sy), series(inline, COLORS.inline, sx, sy));

  // Legend with the percentiles.
  const legend = [
    ['daemon', daemon, COLORS.daemon],
    ['inline baseline', inline, COLORS.inline],
  ] as const;
  legend.forEach(([name, summary, color], i) => {
    const y = PAD.top + plotH - 44 + i * 20;
    const x = PAD.left + plotW - 390;
    parts.push(line(x, y - 4, x + 22, y - 4, color, 3));
    parts.push(
      text(
        x + 30,
        y,
        `${name}: p50 ${summary.timeToLink.p50}, p95 ${summary.timeToLink.p95}, p99 ${summary.timeToLink.p99} ms`,
      ),
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function series(
  summary: TimeToLinkSummary,
  color: string,
  sx: (x: number) => number,
  sy: (y: number) => number,
): string {
  const points = summary.cdf.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round" points="${points}"/>`;
}

function ticks(from: number, to: number, count: number): number[] {
  const raw = (to - from) / count;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let x = Math.ceil(from / step) * step; x <= to; x += step) out.push(Math.round(x * 1000) / 1000);
  return out;
}

function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function line(x1: number, y1: number, x2: number, y2: number, color: string, width = 1): string {
  return `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" stroke="${color}" stroke-width="${width}"/>`;
}

function text(
  x: number,
  y: number,
  content: string,
  style: { anchor?: string; size?: number; weight?: string; color?: string } = {},
): string {
  return (
    `<text x="${f(x)}" y="${f(y)}" text-anchor="${style.anchor ?? 'start'}" font-size="${style.size ?? 12}" ` +
    `font-weight="${style.weight ?? 'normal'}" fill="${style.color ?? '#333'}">${escape(content)}</text>`
  );
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function f(n: number): string {
  return n.toFixed(1);
}
