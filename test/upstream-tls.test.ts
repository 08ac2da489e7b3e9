// Backends over TLS, end to end: servers written https:// are verified
// against the service's CA (or the system's), by SNI name or IP address,
// with a client certificate when the backend asks for one. A certificate
// that does not verify is the backend's 502 with OpenSSL's reason, one log
// line, and counts against the backend like a refused connection.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { CertAuthority, type IssuedCert } from './helpers/certs.ts';
import { eventually, send } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

/** What an https backend saw of one request. */
interface SeenTls {
  url: string;
  /** The SNI name the client sent; false when it sent none. */
  servername: string | false;
  /** The client certificate's subject CN, when the client gave one. */
  clientCn: string | undefined;
  /** Whether the TLS session was resumed rather than negotiated anew. */
  resumed: boolean;
}

interface HttpsBackend {
  readonly port: number;
  readonly seen: SeenTls[];
  readonly server: https.Server;
  close(): Promise<void>;
}

/** A real https server on 127.0.0.1 presenting `cert`; `clientCa` makes it demand a client certificate signed by that CA. */
async function startHttpsBackend(cert: IssuedCert, options: { clientCa?: string; handler?: (url: string, res: http.ServerResponse) => void } = {}): Promise<HttpsBackend> {
  const seen: SeenTls[] = [];
  const server = https.createServer(
    { cert: cert.cert, key: cert.key, ...(options.clientCa !== undefined && { ca: options.clientCa, requestCert: true, rejectUnauthorized: true }) },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.push({ url: req.url ?? '', servername: socket.servername ?? false, clientCn: peer.subject?.CN?.toString(), resumed: socket.isSessionReused() });
      req.resume();
      if (options.handler) options.handler(req.url ?? '', res);
      else res.end(`tls ${req.url}`);
    },
  );
  // A handshake the client gives up on is expected here; it must not crash the test.
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('backends over TLS', () => {
  let ca: CertAuthority;
  let otherCa: CertAuthority;
  let serverCert: IssuedCert;
  const cleanup: Array<() => Promise<void> | void> = [];

  before(() => {
    ca = new CertAuthority('weir backend CA');
    otherCa = new CertAuthority('some other CA');
    serverCert = ca.issue({ names: ['localhost', 'IP:127.0.0.1'] });
    cleanup.push(() => ca.close(), () => otherCa.close());
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function weirFor(services: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const routes = Object.keys(services).map((name) => ({ path: `/${name}`, service: name }));
    const started = await startWatchedWeir({ routes, services, ...extra });
    cleanup.push(() => started.weir.close());
    return started;
  }

  it('verifies an https:// server against the service\'s CA: 200, no SNI for an IP address, the session resumed on the next connection', async () => {
    let release: (() => void) | undefined;
    const backend = await startHttpsBackend(serverCert, {
      handler: (url, res) => {
        if (url !== '/app/slow') {
          res.end(`tls ${url}`);
          return;
        }
        // Holds the first connection busy, its head already sent, so the next request needs a second connection.
        res.writeHead(200);
        res.write('slow ');
        release = () => res.end('done');
      },
    });
    cleanup.push(() => backend.close());
    const { weir } = await weirFor({ app: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath } } });

    const reply = await send(`${weir.url}/app/x`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'tls /app/x');
    assert.equal(backend.seen[0]!.servername, false, 'no SNI is sent for an IP address');

    // The first request holds its connection; once its head is back (the session ticket came before it), a second request needs a second connection.
    const slow = http.get(`${weir.url}/app/slow`, { agent: false });
    const [response] = (await once(slow, 'response')) as [http.IncomingMessage];
    const secondReply = send(`${weir.url}/app/second`);
    await eventually('the second request to reach the backend', () => backend.seen.some((s) => s.url === '/app/second'));
    release!();
    response.resume();
    await once(response, 'end');
    assert.equal((await secondReply).status, 200);
    const secondSeen = backend.seen.find((s) => s.url === '/app/second')!;
    assert.equal(secondSeen.resumed, true, 'the second connection resumed the first one\'s TLS session');
  });

  it('answers 502 with OpenSSL\'s reason for a certificate from an unknown CA, logs one line, and ejects the backend after the failures passive health counts', async () => {
    const stranger = otherCa.issue({ names: ['localhost', 'IP:127.0.0.1'] });
    const backend = await startHttpsBackend(stranger);
    cleanup.push(() => backend.close());
    const { weir, lines } = await weirFor({
      app: {
        servers: [`https://127.0.0.1:${backend.port}`],
        tls: { ca: ca.caPath },
        retries: { attempts: 0 },
        passive_health: { consecutive_failures: 2, base_ejection: '30s', max_ejected_percent: 100 },
      },
    });
    const first = await send(`${weir.url}/app/a`);
    assert.equal(first.status, 502);
    const failureLines = lines.filter((l) => l.status === 502);
    assert.equal(failureLines.length, 1, `one log line for the failed request: ${JSON.stringify(lines)}`);
    assert.match(String(failureLines[0]!.reason), /^TLS: .*(unable to verify|self-signed|unable to get local issuer).*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
    assert.equal(failureLines[0]!.owner, 'backend');
    assert.equal(backend.seen.length, 0, 'the request never reached the backend');

    assert.equal((await send(`${weir.url}/app/b`)).status, 502);
    const backendObject = weir.runtime().services.get('app')!.backends[0]!;
    assert.equal(backendObject.state, 'ejected');
    assert.match(backendObject.reason, /TLS: /);
    assert.equal((await send(`${weir.url}/app/c`)).status, 503, 'an ejected backend takes no requests');
  });

  it('names an expired certificate as such', async () => {
    const expired = ca.issue({ names: ['localhost', 'IP:127.0.0.1'], startDaysAgo: 10, days: -1, file: 'expired' });
    const backend = await startHttpsBackend(expired);
    cleanup.push(() => backend.close());
    const { weir, lines } = await weirFor({ app: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath }, retries: { attempts: 0 } } });
    assert.equal((await send(`${weir.url}/app/`)).status, 502);
    assert.equal(lines.find((l) => l.status === 502)?.reason, 'TLS: certificate has expired (CERT_HAS_EXPIRED)');
  });

  it('trusts the system CAs without a ca file, NODE_EXTRA_CA_CERTS included', async () => {
    const backend = await startHttpsBackend(serverCert);
    cleanup.push(() => backend.close());
    // NODE_EXTRA_CA_CERTS is read when Node starts: a process of its own checks one backend through a service without `ca`.
    const script = `
      import { loadConfigObject } from ${JSON.stringify(new URL('../src/config/load.ts', import.meta.url).href)};
      import { serviceEndpoints } from ${JSON.stringify(new URL('../src/upstream/client/endpoint.ts', import.meta.url).href)};
      import { Backend } from ${JSON.stringify(new URL('../src/upstream/backend.ts', import.meta.url).href)};
      import { openPool } from ${JSON.stringify(new URL('../src/upstream/client/upstream-pool.ts', import.meta.url).href)};
      import { requestWhole } from ${JSON.stringify(new URL('../src/upstream/client/whole-response.ts', import.meta.url).href)};
      const config = loadConfigObject({ routes: [{ path: '/', service: 'app' }], services: { app: { servers: ['https://127.0.0.1:${backend.port}'] } } });
      const service = config.services.get('app');
      const backend = new Backend('app', service.servers[0].address, {}, serviceEndpoints(service)(service.servers[0]));
      const pool = openPool(backend, 2000);
      try {
        const reply = await requestWhole(pool, { method: 'GET', target: '/extra', headers: [] }, 2000, 100);
        console.log(reply.status, reply.body.toString());
      } catch (error) {
        console.log(error.message);
      }
      pool.destroy();
    `;
    const run = (env: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, timeout: 10_000 }, (error, stdout, stderr) => {
          if (error) reject(new Error(`${error.message}\n${stderr}`));
          else resolve(stdout.trim());
        });
      });
    assert.equal(await run({ NODE_EXTRA_CA_CERTS: ca.caPath }), '200 tls /extra');
    assert.match(await run({ NODE_EXTRA_CA_CERTS: '' }), /^TLS: .*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
  });

  it('accepts any certificate with insecure_skip_verify', async () => {
    const stranger = otherCa.issue({ names: ['elsewhere.example'] });
    const backend = await startHttpsBackend(stranger);
    cleanup.push(() => backend.close());
    const { weir } = await weirFor({ app: { servers: [`https://127.0.0.1:${backend.port}`], tls: { insecure_skip_verify: true } } });
    const reply = await send(`${weir.url}/app/anything`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'tls /app/anything');
  });

  it('sends server_name as SNI and checks the certificate against it, not against the address', async () => {
    const named = ca.issue({ names: ['api.internal'] });
    const backend = await startHttpsBackend(named);
    cleanup.push(() => backend.close());
    const { weir, lines } = await weirFor({
      named: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath, server_name: 'api.internal' } },
      unnamed: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath }, retries: { attempts: 0 } },
      wrong: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath, server_name: 'other.internal' }, retries: { attempts: 0 } },
    });
    const named200 = await send(`${weir.url}/named`);
    assert.equal(named200.status, 200);
    assert.equal(backend.seen.at(-1)!.servername, 'api.internal');

    assert.equal((await send(`${weir.url}/unnamed`)).status, 502, 'the certificate has no IP address in it');
    assert.match(String(lines.find((l) => l.service === 'unnamed' && l.status === 502)?.reason), /^TLS: .*IP: 127\.0\.0\.1 is not in the cert's list.*\(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
    assert.equal((await send(`${weir.url}/wrong`)).status, 502);
    assert.match(String(lines.find((l) => l.service === 'wrong' && l.status === 502)?.reason), /other\.internal/);
    assert.equal(backend.seen.length, 1, 'only the verified service\'s request reached the backend');
  });

  it('presents the client certificate a backend asks for', async () => {
    const client = ca.issue({ names: ['weir-client'], clientAuth: true, file: 'client' });
    const backend = await startHttpsBackend(serverCert, { clientCa: ca.caCert });
    cleanup.push(() => backend.close());
    const { weir } = await weirFor({
      mutual: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath, cert: client.certPath, key: client.keyPath } },
      anonymous: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath }, retries: { attempts: 0 } },
    });
    const reply = await send(`${weir.url}/mutual`);
    assert.equal(reply.status, 200);
    assert.equal(backend.seen[0]!.clientCn, 'weir-client');
    assert.equal((await send(`${weir.url}/anonymous`)).status, 502, 'no certificate, no answer');
    assert.equal(backend.seen.length, 1);
  });

  it('never lets two services that reach one server differently share a connection', async () => {
    const backend = await startHttpsBackend(serverCert);
    cleanup.push(() => backend.close());
    const { weir } = await weirFor({
      trusting: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath } },
      strict: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: otherCa.caPath }, retries: { attempts: 0 } },
    });
    assert.equal((await send(`${weir.url}/trusting`)).status, 200);
    // The trusting service's verified connection is idle in its pool now; the strict one must make its own, and fail.
    assert.equal((await send(`${weir.url}/strict`)).status, 502);
    assert.equal((await send(`${weir.url}/trusting`)).status, 200);
  });

  it('checks health over TLS: up through the right CA, down with the TLS reason through a wrong one', async () => {
    const backend = await startHttpsBackend(serverCert);
    cleanup.push(() => backend.close());
    const check = { path: '/health', interval: '1m' };
    const { weir } = await weirFor({
      good: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath }, health_check: check },
      bad: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: otherCa.caPath }, health_check: check },
    });
    const good = weir.runtime().services.get('good')!.backends[0]!;
    const bad = weir.runtime().services.get('bad')!.backends[0]!;
    assert.equal(good.state, 'up', good.reason);
    assert.equal(bad.state, 'down');
    assert.match(bad.reason, /^GET \/health failed: TLS: .*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
    assert.ok(backend.seen.some((s) => s.url === '/health'), 'the check went over TLS to the backend');
  });

  it('reads the TLS files once per config: a reload with a new CA file is verified with it', async () => {
    const backend = await startHttpsBackend(serverCert);
    cleanup.push(() => backend.close());
    const { weir } = await weirFor({ app: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: otherCa.caPath }, retries: { attempts: 0 } } });
    assert.equal((await send(`${weir.url}/app`)).status, 502);
    await weir.reload({ routes: [{ path: '/app', service: 'app' }], services: { app: { servers: [`https://127.0.0.1:${backend.port}`], tls: { ca: ca.caPath } } } });
    assert.equal((await send(`${weir.url}/app`)).status, 200);
  });
});
