// The dashboard: one self-contained page, inline CSS and JS, no build step
// and nothing loaded from elsewhere. It reads /api/events with fetch() and
// an Authorization header rather than EventSource with ?token=: a token in a
// URL ends up in access logs, proxies and browser history, and this way the
// server has one way to check a token. The Content-Security-Policy allows
// exactly this script and this style (by hash) and requests to its own origin.

import { createHash } from 'node:crypto';

const CSS = `
:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --bg: #f6f8fa; --card: #fff; --head: #fafbfc;
  --up: #1a7f37; --down: #cf222e; --ejected: #bc4c00; --draining: #0969da; --unchecked: #6e7781;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; padding: .8rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.15rem; margin: 0; letter-spacing: .02em; }
#meta { color: var(--muted); }
#live { margin-left: auto; color: var(--muted); font-size: .85rem; }
#live::before { content: ""; display: inline-block; width: .55rem; height: .55rem; border-radius: 50%; background: var(--unchecked); margin-right: .4rem; }
#live.on::before { background: var(--up); }
#live.off::before { background: var(--down); }
main { max-width: 1200px; margin: 0 auto; padding: .5rem 1.5rem 2rem; }
h2 { font-size: .78rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 1.4rem 0 .5rem; font-weight: 600; }
h2 small { text-transform: none; letter-spacing: 0; font-weight: 400; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin-bottom: 1rem; overflow-x: auto; }
.card .head { padding: .6rem .8rem; border-bottom: 1px solid var(--line); display: flex; gap: .8rem; flex-wrap: wrap; align-items: baseline; }
.card h3 { margin: 0; font-size: 1rem; }
.card .head span { color: var(--muted); font-size: .85rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .45rem .8rem; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:last-child td { border-bottom: 0; }
th { font-weight: 600; font-size: .78rem; color: var(--muted); background: var(--head); white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.state { display: inline-block; min-width: 5.6em; text-align: center; padding: .1rem .5rem; border-radius: 999px; color: #fff; font-size: .8rem; font-weight: 600; background: var(--unchecked); }
.state.up { background: var(--up); }
.state.down { background: var(--down); }
.state.ejected { background: var(--ejected); }
.state.draining { background: var(--draining); }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .85rem; }
.muted { color: var(--muted); font-size: .8rem; }
.tag { margin-left: .4rem; padding: 0 .35rem; border: 1px solid var(--line); border-radius: 4px; color: var(--muted); font-size: .72rem; }
ol.history { list-style: none; margin: .2rem 0 0; padding: 0; }
ol.history li { color: var(--muted); font-size: .78rem; }
ol.history b { font-weight: 600; }
ol.history b.up { color: var(--up); } ol.history b.down { color: var(--down); }
ol.history b.ejected { color: var(--ejected); } ol.history b.draining { color: var(--draining); }
button { font: inherit; font-size: .85rem; padding: .25rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); cursor: pointer; }
button:hover { background: #eaeef2; }
button:disabled { opacity: .5; cursor: default; }
.banner { max-width: 1200px; margin: 1rem auto 0; padding: .6rem 1rem; border-radius: 6px; }
#auth { background: #fff8c5; border: 1px solid #d4a72c; }
#auth input { font: inherit; padding: .2rem .4rem; margin: 0 .4rem; }
#notice { background: #ffebe9; border: 1px solid #ff8182; }
#notice:empty { display: none; }
.err { color: var(--down); }
td.empty { color: var(--muted); text-align: center; }
`;

// No backticks and no dollar-brace in here: it sits in a template literal.
const SCRIPT = String.raw`
'use strict';
(() => {
  const TOKEN_KEY = 'weir.admin.token';
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let afterToken = null;
  let stream = null;
  let retryTimer = 0;
  const services = new Map();
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function authHeaders() {
    return token ? { authorization: 'Bearer ' + token } : {};
  }
  function clock(iso) {
    return new Date(iso).toTimeString().slice(0, 8);
  }
  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24, m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + s + 's';
    return s + 's';
  }
  function ms(value) {
    if (value === null || value === undefined) return '–';
    return (value < 10 ? value.toFixed(1) : String(Math.round(value))) + ' ms';
  }
  function notice(text) {
    $('notice').textContent = text || '';
  }

  // ---- The token: asked for when an API call gets 401 or 403, kept for this tab only ----

  function askToken(message, then) {
    afterToken = then;
    $('auth').hidden = false;
    $('auth-error').textContent = message || '';
    $('token').focus();
  }
  $('auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    $('auth').hidden = true;
    const then = afterToken;
    afterToken = null;
    if (then) then();
  });

  // ---- The event stream, read with fetch() so that the token goes in a header ----

  function setLive(text, className) {
    $('live').textContent = text;
    $('live').className = className || '';
  }
  async function connect() {
    if (stream) stream.abort();
    clearTimeout(retryTimer);
    const controller = new AbortController();
    stream = controller;
    setLive('connecting…');
    let response;
    try {
      response = await fetch('/api/events', { headers: authHeaders(), signal: controller.signal, cache: 'no-store' });
    } catch (error) {
      return retry(controller);
    }
    if (response.status === 401 || response.status === 403) {
      setLive('needs a token', 'off');
      askToken(response.status === 403 ? 'That token was refused.' : '', connect);
      return;
    }
    if (!response.ok || !response.body) return retry(controller);
    setLive('live', 'on');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
          if (data) render(JSON.parse(data));
        }
        if (buffer.length > 8000000) break;
      }
    } catch (error) {
      // The stream broke: reconnect below.
    }
    retry(controller);
  }
  function retry(controller) {
    if (stream !== controller || controller.signal.aborted) return;
    setLive('reconnecting…', 'off');
    retryTimer = setTimeout(connect, 2000);
  }

  // ---- Drain and enable ----

  async function act(service, address, action, button) {
    button.disabled = true;
    try {
      const url = '/api/services/' + encodeURIComponent(service) + '/backends/' + encodeURIComponent(address) + '/' + action;
      const response = await fetch(url, { method: 'POST', headers: authHeaders() });
      if (response.status === 401 || (response.status === 403 && token)) {
        askToken(response.status === 403 ? 'That token was refused.' : 'Changing anything needs the admin token.', () => act(service, address, action, button));
        return;
      }
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        notice(action + ' ' + address + ': ' + (body.error || 'HTTP ' + response.status));
        return;
      }
      notice('');
      const view = services.get(service);
      const row = view && view.rows.get(address);
      if (row) updateRow(row, body.backend, new Date().toISOString());
    } catch (error) {
      notice(action + ' ' + address + ': ' + error.message);
    } finally {
      button.disabled = false;
    }
  }

  // ---- Rendering: services and backends are kept by name and updated in place ----

  function render(snapshot) {
    renderStatus(snapshot.status);
    renderServices(snapshot.services, snapshot.at);
    renderRoutes(snapshot.routes);
    renderRefusals(snapshot.refusals);
  }

  function renderStatus(status) {
    const meta = $('meta');
    meta.replaceChildren();
    meta.append(
      'v' + status.version + ' · ' + status.config_source + ' · generation ' + status.generation + ' · up ' + duration(status.uptime_seconds),
    );
    const last = status.last_reload;
    if (last) {
      const text = ' · last reload ' + clock(last.at) + ' ' + (last.result === 'success' ? 'succeeded' : 'failed' + (last.message ? ': ' + last.message : ''));
      meta.append(last.result === 'success' ? text : el('span', 'err', text));
    }
  }

  function renderServices(list, at) {
    const box = $('services');
    const seen = new Set();
    list.forEach((service, i) => {
      let view = services.get(service.name);
      if (!view) {
        view = serviceCard(service.name);
        services.set(service.name, view);
      }
      if (box.children[i] !== view.root) box.insertBefore(view.root, box.children[i] || null);
      seen.add(service.name);
      const check = service.health_check ? 'health check: ' + service.health_check.summary : 'no active health checks';
      view.info.textContent = [service.balance, check, service.passive_health ? 'passive: ' + service.passive_health : ''].filter(Boolean).join(' · ');
      const rowsSeen = new Set();
      service.backends.forEach((backend, j) => {
        let row = view.rows.get(backend.address);
        if (!row) {
          row = backendRow(service.name, backend.address);
          view.rows.set(backend.address, row);
        }
        if (view.body.children[j] !== row.tr) view.body.insertBefore(row.tr, view.body.children[j] || null);
        rowsSeen.add(backend.address);
        updateRow(row, backend, at);
      });
      for (const [address, row] of view.rows) if (!rowsSeen.has(address)) { row.tr.remove(); view.rows.delete(address); }
    });
    for (const [name, view] of services) if (!seen.has(name)) { view.root.remove(); services.delete(name); }
    $('no-services').hidden = list.length > 0;
  }

  function serviceCard(name) {
    const root = el('div', 'card');
    root.dataset.service = name;
    const head = el('div', 'head');
    const info = el('span');
    head.append(el('h3', '', name), info);
    const table = el('table');
    const headRow = el('tr');
    for (const [label, className] of [['State'], ['Backend'], ['Why'], ['In flight', 'num'], ['Weight', 'num'], ['Latency', 'num'], ['Ejections', 'num'], ['']]) headRow.append(el('th', className, label));
    const thead = el('thead');
    thead.append(headRow);
    const body = el('tbody');
    table.append(thead, body);
    root.append(head, table);
    return { root, info, body, rows: new Map() };
  }

  function backendRow(service, address) {
    const tr = el('tr');
    tr.dataset.backend = address;
    const cells = {
      state: el('span', 'state'),
      address: el('td', 'mono'),
      reason: el('div'),
      since: el('div', 'muted'),
      history: el('ol', 'history'),
      inflight: el('td', 'num'),
      weight: el('td', 'num'),
      latency: el('td', 'num'),
      ejections: el('td', 'num'),
      button: el('button'),
    };
    const row = { tr, cells, action: 'drain' };
    cells.button.type = 'button';
    cells.button.addEventListener('click', () => act(service, address, row.action, cells.button));
    const stateCell = el('td');
    stateCell.append(cells.state);
    const why = el('td');
    why.append(cells.reason, cells.since, cells.history);
    const actions = el('td', 'num');
    actions.append(cells.button);
    tr.append(stateCell, cells.address, why, cells.inflight, cells.weight, cells.latency, cells.ejections, actions);
    return row;
  }

  function updateRow(row, backend, at) {
    const c = row.cells;
    c.state.textContent = backend.state;
    c.state.className = 'state ' + backend.state;
    c.address.replaceChildren(backend.address);
    if (backend.backup) c.address.append(el('span', 'tag', 'backup'));
    c.reason.textContent = backend.reason;
    c.since.textContent = 'since ' + clock(backend.since) + ' (' + duration((Date.parse(at) - Date.parse(backend.since)) / 1000) + ' ago)';
    const items = backend.history.slice(-4).reverse().slice(1).map((change) => {
      const li = el('li', '', clock(change.at) + ' ');
      li.append(el('b', change.state, change.state), ': ' + change.reason);
      return li;
    });
    c.history.replaceChildren(...items);
    c.inflight.textContent = String(backend.inflight);
    c.weight.textContent = String(backend.weight);
    c.latency.textContent = backend.latency_ms > 0 ? ms(backend.latency_ms) : '–';
    c.ejections.textContent = String(backend.ejections);
    row.action = backend.drained ? 'enable' : 'drain';
    c.button.textContent = backend.drained ? 'Enable' : 'Drain';
    c.button.title = backend.drained ? 'Take new requests again' : 'No new requests; those in flight finish';
  }

  function renderRoutes(routes) {
    const body = $('routes');
    const rows = routes.map((route) => {
      const tr = el('tr');
      tr.dataset.route = route.route === null ? '' : route.route;
      const rate = route.requests_per_second;
      tr.append(
        el('td', route.route === null ? 'muted' : '', route.route === null ? '(no route matched)' : route.route),
        el('td', 'num', rate < 10 ? rate.toFixed(1) : String(Math.round(rate))),
        el('td', 'num' + (route.error_rate > 0 ? ' err' : ''), (route.error_rate * 100).toFixed(1) + '%'),
        el('td', 'num', ms(route.latency_ms.p50)),
        el('td', 'num', ms(route.latency_ms.p95)),
        el('td', 'num', ms(route.latency_ms.p99)),
        el('td', 'num', String(route.requests)),
      );
      return tr;
    });
    if (rows.length === 0) rows.push(emptyRow(7, 'No routes.'));
    body.replaceChildren(...rows);
    if (routes.length) $('window').textContent = 'last ' + Math.round(routes[0].window_seconds) + ' s';
  }

  function renderRefusals(refusals) {
    const rows = refusals.map((refusal) => {
      const tr = el('tr');
      tr.append(el('td', 'num', clock(refusal.at)), el('td', 'num', String(refusal.status)), el('td', '', refusal.reason), el('td', 'mono', refusal.client), el('td', 'mono', refusal.url));
      return tr;
    });
    if (rows.length === 0) rows.push(emptyRow(5, 'None lately.'));
    $('refusals').replaceChildren(...rows);
  }

  function emptyRow(columns, text) {
    const tr = el('tr');
    const td = el('td', 'empty', text);
    td.colSpan = columns;
    tr.append(td);
    return tr;
  }

  connect();
})();
`;

const HTML_BODY = `
<header>
  <h1>weir</h1>
  <span id="meta"></span>
  <span id="live">connecting…</span>
</header>
<div id="auth" class="banner" hidden>
  <form id="auth-form">
    <label>This admin API needs its token (admin.token):<input id="token" type="password" autocomplete="off" spellcheck="false"></label>
    <button type="submit">Use token</button>
    <span id="auth-error" class="err"></span>
  </form>
</div>
<div id="notice" class="banner" role="status"></div>
<main>
  <h2>Services</h2>
  <div id="services"></div>
  <p id="no-services" class="muted" hidden>No services.</p>
  <h2>Routes <small id="window">last 10 s</small></h2>
  <div class="card">
    <table>
      <thead><tr><th>Route</th><th class="num">Req/s</th><th class="num">Errors (5xx)</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">Requests</th></tr></thead>
      <tbody id="routes"></tbody>
    </table>
  </div>
  <h2>Recent refusals</h2>
  <div class="card">
    <table>
      <thead><tr><th class="num">Time</th><th class="num">Status</th><th>Reason</th><th>Client</th><th>URL</th></tr></thead>
      <tbody id="refusals"></tbody>
    </table>
  </div>
</main>
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

let page: { html: string; csp: string } | undefined;

/** The page and the Content-Security-Policy that lets exactly its own script and style run. */
export function dashboardPage(): { html: string; csp: string } {
  page ??= {
    html: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>weir admin</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>${HTML_BODY}<script>${SCRIPT}</script>
</body>
</html>
`,
    csp: [
      "default-src 'none'",
      `script-src ${sha256(SCRIPT)}`,
      `style-src ${sha256(CSS)}`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
  return page;
}
