// The dashboard in a real headless Chromium (playwright-core, the system's
// /usr/bin/chromium; nothing is downloaded), against the admin server, a
// real AdminContext, and real traffic through the driver: backends show
// with their state, a backend that stops turns "down" on the page without a
// reload, and the Drain button (asking for the token on the way) drains it
// in the live runtime. With WEIR_SCREENSHOT=1 it writes the README's
// screenshot, docs/dashboard.png; otherwise the tree is left as it was.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { liveAdminContext, type LiveAdminContext } from '../src/admin/context.fixtures.ts';
import { startAdmin, type AdminServer } from '../src/admin/server.ts';
import { createLogger } from '../src/log.ts';
import { RefusalCounter } from '../src/runtime/refusals.ts';
import { Driver } from '../src/runtime/driver.ts';
import { listenHttp, type HttpListener } from '../src/server/http-listener.ts';
import { Transport } from '../src/upstream/client/transport.ts';
import { startBackend, type BackendHandler, type TestBackend } from './helpers/backends.ts';
import { send } from './helpers/client.ts';

const CHROMIUM = process.env.WEIR_CHROMIUM ?? '/usr/bin/chromium';
const HEALTH_INTERVAL_MS = 200;
/** The admin server's event period (its default). */
const EVENT_PERIOD_MS = 1_000;
const TOKEN = 'dashboard-token';
const SCREENSHOT = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));

const missing = !existsSync(CHROMIUM);

describe('dashboard', { skip: missing && `no Chromium at ${CHROMIUM}: apt-get install chromium (or set WEIR_CHROMIUM)` }, () => {
  const backends: TestBackend[] = [];
  let live: LiveAdminContext;
  let admin: AdminServer;
  let proxy: HttpListener;
  let transport: Transport;
  let browser: Browser;
  let page: Page;
  /** Script errors and Content-Security-Policy violations on the page. */
  const problems: string[] = [];

  before(async () => {
    // Chromium starts while the rest is set up.
    const launching = import('playwright-core').then(({ chromium }) =>
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
    );
    const slow = (name: string, ms: number): BackendHandler => (req, res) => {
      req.resume();
      setTimeout(() => res.end(`${name} ${req.url}`), req.url === '/healthcheck' ? 0 : ms * (0.5 + Math.random()));
    };
    for (const [name, ms] of [['app-1', 4], ['app-2', 6], ['app-3', 12], ['static-1', 2], ['static-2', 2]] as const) backends.push(await startBackend(name, slow(name, ms)));
    const [app1, app2, app3, static1, static2] = backends;
    const healthCheck = { interval: `${HEALTH_INTERVAL_MS}ms`, healthy_threshold: 1, unhealthy_threshold: 1 };
    live = await liveAdminContext(
      {
        routes: [
          { name: 'api', path: '/api', service: 'app', firewall: { path_reject: ['/api/admin'] } },
          { name: 'static', path: '/static', strip_prefix: true, service: 'static' },
          { name: 'health', path_exact: '/health', respond: { status: 200, body: 'ok' } },
        ],
        services: {
          app: { servers: [app1!.address, app2!.address, app3!.address], balance: 'least_connections', health_check: healthCheck },
          static: { servers: [static1!.address, { address: static2!.address, backup: true }], health_check: healthCheck, passive_health: false },
        },
      },
      { token: TOKEN },
    );
    const log = createLogger(false);
    admin = await startAdmin({ host: '127.0.0.1', port: 0 }, live.context, log);
    transport = new Transport();
    const driver = new Driver({ runtime: live.context.runtime, transport, log, refusals: new RefusalCounter(), observers: [live.routeStats, live.refusals] });
    proxy = await listenHttp({ host: '127.0.0.1', port: 0 }, driver, { maxConnections: 100, pipelinedRequests: 0, headerTimeoutMs: 5_000, keepAliveMs: 1_000 }, log);
    browser = await launching;
    page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });

    // Real traffic through the driver, so that the routes table has real figures (within its 10 s window).
    const base = `http://127.0.0.1:${proxy.address.port}`;
    const paths = [
      ...Array.from({ length: 40 }, (_, i) => `/api/items/${i}`),
      ...Array.from({ length: 15 }, (_, i) => `/static/img/${i}.png`),
      '/health',
      '/health',
      '/api/admin',
      '/api/admin/users',
      '/nothing-here',
    ];
    await Promise.all(paths.map((path, i) => new Promise((resolve) => setTimeout(resolve, i * 2)).then(() => send(base + path))));
    await page.goto(`http://127.0.0.1:${admin.address.port}/`);
  });

  after(async () => {
    await browser?.close();
    await admin?.close();
    await proxy?.drain(0);
    await transport?.close();
    await live?.close();
    for (const backend of backends) await backend.close();
  });

  const stateOf = (address: string): Promise<string | null> => page.locator(`tr[data-backend="${address}"] .state`).textContent();
  /** Waits until the page shows the backend in this state. */
  const untilState = (address: string, state: string, timeout: number): Promise<void> =>
    page.locator(`tr[data-backend="${address}"] .state`, { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout });

  it('lists every service and backend with its state, the routes\' traffic and the recent refusals', async () => {
    const addresses = backends.map((backend) => backend.address);
    for (const address of addresses) await untilState(address, 'up', 5_000);
    const cards = page.locator('[data-service]');
    assert.equal(await cards.count(), 2);
    assert.deepEqual([await cards.nth(0).getAttribute('data-service'), await cards.nth(1).getAttribute('data-service')], ['app', 'static']);
    assert.equal(await page.locator('tr[data-backend]').count(), 5);
    assert.match((await page.locator(`tr[data-backend="${backends[4]!.address}"]`).textContent()) ?? '', /backup/);
    const api = await page.locator('tr[data-route="api"] td').allTextContents();
    assert.equal(api[0], 'api');
    assert.equal(api[6], '42', 'requests in the window');
    assert.match(await page.locator('#refusals').textContent() ?? '', /403.*firewall: path_reject \/api\/admin/);
    assert.match(await page.locator('#live').textContent() ?? '', /^live$/);
  });

  it('a backend that stops turns "down" on the page within two health intervals and one event period, without a reload', async () => {
    await page.evaluate('window.notReloaded = true');
    const victim = backends[2]!;
    const started = performance.now();
    await victim.close();
    const bound = 2 * HEALTH_INTERVAL_MS + EVENT_PERIOD_MS;
    // Margin for a loaded machine: the checker's jitter, the probe, rendering.
    await untilState(victim.address, 'down', bound + 1_000);
    const took = performance.now() - started;
    assert.ok(took < bound + 1_000, `took ${Math.round(took)}ms`);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    assert.match((await page.locator(`tr[data-backend="${victim.address}"] td:nth-child(3)`).textContent()) ?? '', /^GET \/healthcheck failed: /);
    assert.equal(live.backend('app', victim.address)!.state, 'down');
  });

  it('Drain asks for the token once, then drains the backend on the page and in the live runtime', async () => {
    const target = backends[1]!;
    await page.click(`tr[data-backend="${target.address}"] button`);
    // Reading was open (loopback); changing needs the token: the page asks for it.
    await page.waitForSelector('#auth:not([hidden])', { timeout: 2_000 });
    await page.fill('#token', TOKEN);
    await page.click('#auth-form button');
    await untilState(target.address, 'draining', 2_000);
    assert.equal(live.backend('app', target.address)!.state, 'draining');
    assert.equal(live.backend('app', target.address)!.reason, 'drained by an operator (admin API)');
    assert.equal(await page.locator(`tr[data-backend="${target.address}"] button`).textContent(), 'Enable');
    assert.equal(await page.evaluate("sessionStorage.getItem('weir.admin.token')"), TOKEN);
    // The next snapshot agrees.
    await page.waitForTimeout(EVENT_PERIOD_MS + 100);
    assert.equal(await stateOf(target.address), 'draining');

    assert.deepEqual(problems, []);
    mkdirSync(new URL('../docs/', import.meta.url), { recursive: true });
    if (process.env.WEIR_SCREENSHOT === '1') await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
