/**
 * The live page: static HTML and its script (dashboard-script.ts; no framework, no CDN); data comes
 * from /events, read with fetch so it can carry the token when the daemon has one (it then answers
 * 401 until the page is given it).
 */
export { DASHBOARD_SCRIPT } from './dashboard-script.js';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>instant-provisioner · live page</title>
<style>
:root{--text:#1f2328;--muted:#656d76;--line:#e4e7eb;--bg:#f6f7f9;--ok:#1a7f37;--work:#9a6700;--bad:#cf222e;--accent:#5b4bdb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--text);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1rem;padding:.8rem 1.5rem;color:#fff;background:linear-gradient(90deg,#221a4f,#3b2d8f)}
header h1{margin:0 auto 0 0;font-size:1.05rem}
.pill{display:inline-block;padding:.15rem .6rem;border-radius:999px;font-size:.8rem;background:rgba(255,255,255,.15)}
.gate-ok::before{content:'● ';color:#3ddc84}.gate-paced::before{content:'● ';color:#f0b429}.gate-blocked::before{content:'● ';color:#ff6b6b}
main{max-width:78rem;margin:1.25rem auto;padding:0 1.5rem;display:grid;gap:1rem}
section{overflow-x:auto;padding:1rem 1.25rem;border:1px solid var(--line);border-radius:12px;background:#fff}
h2{margin:0 0 .6rem;font-size:1rem}
.counts{display:flex;flex-wrap:wrap;gap:.6rem}
.count{display:flex;flex-direction:column;min-width:7.5rem;padding:.5rem .8rem;border:1px solid var(--line);border-radius:10px}
.count-n{font-size:1.4rem;font-weight:700}.count-label{color:var(--muted);font-size:.8rem}
.count.badge-ready .count-n{color:var(--ok)}.count.badge-failed .count-n,.count.badge-refused .count-n{color:var(--bad)}.count.badge-provisioning .count-n{color:var(--work)}
.note{margin:.6rem 0 0;color:var(--muted)}
.catalog-error{margin:.6rem 0 0;color:var(--bad);white-space:pre-wrap;overflow-wrap:anywhere}
#chart{width:100%;max-width:760px;height:auto;display:block}
#chart text{font:11px system-ui,sans-serif;fill:var(--muted)}
#chart .axis-title{fill:var(--text);font-weight:600}#chart .chart-empty{font-size:13px}
#chart .axis{stroke:#8c959f}#chart .grid{stroke:#eef0f3}
#chart .bar{fill:#a9a1f0}#chart .line{stroke:#d9730d;stroke-width:2;fill:none}#chart .dot{fill:#d9730d}
#chart .ready-title{fill:#5b4bdb}#chart .time-title{fill:#b35c00}
table{width:100%;border-collapse:collapse}
th,td{padding:.4rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:.78rem;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.app-id,.db-name{white-space:nowrap}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
tr.has-error td{border-bottom:none}
td.error{padding-top:0;color:var(--bad);white-space:pre-wrap;overflow-wrap:anywhere}
.error-label{font-weight:600}
td.empty{padding:1.2rem;text-align:center;color:var(--muted)}
.badge{display:inline-flex;align-items:center;gap:.3rem;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;background:#eef0f3}
.badge-ready{color:var(--ok);background:#dafbe1}.badge-failed,.badge-refused{color:var(--bad);background:#ffebe9}
.badge-provisioning,.badge-copying{color:var(--work);background:#fff8c5}
.spinner{display:inline-block;width:10px;height:10px;border:2px solid currentColor;border-top-color:transparent;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
button{font:inherit;padding:.15rem .55rem;border:1px solid var(--line);border-radius:6px;background:#fff;cursor:pointer}
button.retry{color:var(--bad);border-color:currentColor}
#token-box{display:flex;gap:.5rem;align-items:center}#token-box[hidden]{display:none}
#token-box input{padding:.3rem .5rem;border:1px solid #cfd4da;border-radius:6px}
</style></head><body>
<header><h1>instant-provisioner · live page</h1><span id="readiness" class="pill">connecting…</span><span id="gate" class="pill">connecting…</span></header>
<main>
<section aria-labelledby="h-counts"><h2 id="h-counts">Databases by status</h2>
<div class="counts" id="counts"><p class="note">Waiting for the first snapshot…</p></div>
<p class="note" id="last-failure"></p><p class="catalog-error" id="catalog-error" role="alert" hidden></p>
<div id="token-box" hidden><label for="token">Token (--http-token)</label><input id="token" type="password" autocomplete="off"></div></section>
<section aria-labelledby="h-chart"><h2 id="h-chart">Throughput, last 10 minutes</h2>
<svg id="chart" viewBox="0 0 760 230" role="img" aria-label="Databases made ready per 10 seconds (bars, left axis) and their mean time from claim to ready (line, right axis, in milliseconds or seconds), over the last 10 minutes"></svg></section>
<section aria-labelledby="h-newest"><h2 id="h-newest">Newest databases</h2>
<table><thead><tr><th>Status</th><th>Name</th><th>App id</th><th class="num">Age</th><th class="num">Time to ready</th><th class="num">Attempts</th><th></th></tr></thead><tbody id="newest"></tbody></table></section>
<section aria-labelledby="h-kept"><h2 id="h-kept">Detached and retained</h2>
<table><thead><tr><th>Status</th><th>Name</th><th>App id</th><th class="num">Detached for</th><th></th></tr></thead><tbody id="kept"></tbody></table></section>
</main>
<script src="/dashboard.js"></script>
</body></html>`;
