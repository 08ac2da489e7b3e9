import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closedPort } from '../../../test/helpers/backends.ts';
import { CertAuthority } from '../../../test/helpers/certs.ts';
import { AcmeTransportError, createCaAgent, loadAcmeClient, withAcmeTransport, type AcmeTransport } from './acme-transport.ts';

/** GET through acme-client's own axios instance, inside a transport scope. */
async function get(transport: AcmeTransport, url: string): Promise<unknown> {
  const acme = await loadAcmeClient();
  return withAcmeTransport(transport, async () => (await acme.axios.get(url)).data as unknown);
}

function transportWith(agent: https.Agent, signal = new AbortController().signal): AcmeTransport {
  return { agent, signal, requestTimeoutMs: 2_000 };
}

describe('the transport to the ACME CA', () => {
  let authority: CertAuthority;
  let server: https.Server;
  let base: string;
  /** Requests the server has seen, for the abandon test. */
  const arrived: Array<() => void> = [];

  before(async () => {
    authority = new CertAuthority('private ACME CA');
    const issued = authority.issue({ names: ['IP:127.0.0.1'] });
    server = https.createServer({ cert: issued.cert, key: issued.key }, (req, res) => {
      if (req.url === '/busy') {
        res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '7' });
        res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' }));
      } else if (req.url === '/hang') {
        for (const notify of arrived.splice(0)) notify();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"newNonce":"x"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    authority.close();
  });

  it('refuses a CA whose certificate is from an unknown CA, saying so and pointing at acme.ca', async () => {
    const agent = await createCaAgent(undefined);
    try {
      await assert.rejects(get(transportWith(agent), `${base}/dir`), (error: Error) => {
        assert.ok(error instanceof AcmeTransportError, String(error));
        assert.match(error.message, new RegExp(`^GET ${base}/dir: the CA's TLS certificate is not trusted \\(SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain\\); for a private CA, give its PEM file as acme\\.ca$`));
        return true;
      });
    } finally {
      agent.destroy();
    }
  });

  it('trusts that CA when its PEM file is given as acme.ca, for this transport only', async () => {
    const agent = await createCaAgent(authority.caPath);
    const untrusting = await createCaAgent(undefined);
    try {
      assert.deepEqual(await get(transportWith(agent), `${base}/dir`), { newNonce: 'x' });
      await assert.rejects(get(transportWith(untrusting), `${base}/dir`), /not trusted/, 'another transport still verifies against the defaults');
    } finally {
      agent.destroy();
      untrusting.destroy();
    }
  });

  it('says what is wrong with an acme.ca file', async () => {
    await assert.rejects(createCaAgent(join(authority.dir, 'absent.pem')), /^Error: cannot read the acme\.ca file .*absent\.pem \(ENOENT/);
    const notPem = join(authority.dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    await assert.rejects(createCaAgent(notPem), /holds no PEM certificate/);
  });

  it('fails at once when the CA cannot be reached, with the reason (no silent retries inside acme-client)', async () => {
    const agent = await createCaAgent(undefined);
    const port = await closedPort();
    const started = Date.now();
    try {
      await assert.rejects(get(transportWith(agent), `https://127.0.0.1:${port}/dir`), (error: Error) => {
        assert.ok(error instanceof AcmeTransportError, String(error));
        assert.equal(error.message, `GET https://127.0.0.1:${port}/dir: cannot reach the CA (connect ECONNREFUSED 127.0.0.1:${port})`);
        return true;
      });
    } finally {
      agent.destroy();
    }
    // acme-client alone would retry five times, 5 s apart and more.
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
  });

  it("turns a CA's 503 into a failure with its problem detail and Retry-After", async () => {
    const agent = await createCaAgent(authority.caPath);
    try {
      await assert.rejects(get(transportWith(agent), `${base}/busy`), (error: Error) => {
        assert.ok(error instanceof AcmeTransportError, String(error));
        assert.equal(error.message, `GET ${base}/busy: the CA answered 503: too many new orders recently (the CA asks to retry in 7 s)`);
        assert.equal(error.retryAfterMs, 7_000);
        return true;
      });
    } finally {
      agent.destroy();
    }
  });

  it('abandons a request in flight when its signal aborts', async () => {
    const agent = await createCaAgent(authority.caPath);
    const abort = new AbortController();
    const reached = new Promise<void>((resolve) => arrived.push(resolve));
    try {
      const pending = get(transportWith(agent, abort.signal), `${base}/hang`);
      await reached;
      abort.abort();
      await assert.rejects(pending, /^AcmeTransportError: GET .*\/hang: abandoned, the certificate manager was closed$/);
    } finally {
      agent.destroy();
    }
  });
});
