// How a server is reached is compiled once per config, and tells apart two
// ways of reaching one server: the protocol, TLS or not, and the TLS
// settings with what their files hold.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CertAuthority } from '../../../test/helpers/certs.ts';
import type { ServerConfig, ServiceConfig } from '../../config/types.ts';
import { PLAIN_HTTP1, serviceEndpoints } from './endpoint.ts';

const plain: ServerConfig = { address: { host: '127.0.0.1', port: 80 }, tls: false, weight: 1, backup: false };
const secure: ServerConfig = { ...plain, tls: true };

function service(extra: Partial<ServiceConfig>): ServiceConfig {
  return { name: 'api', protocol: 'http1', ...extra } as ServiceConfig;
}

describe('serviceEndpoints', () => {
  const ca = new CertAuthority('endpoint test CA');
  after(() => ca.close());

  it('gives plain HTTP/1.1, h2c, and TLS endpoints with keys that tell them apart', () => {
    assert.equal(serviceEndpoints(service({}))(plain), PLAIN_HTTP1);
    const h2c = serviceEndpoints(service({ protocol: 'h2c' }))(plain);
    assert.deepEqual([h2c.protocol, h2c.tls], ['h2', undefined]);
    const https = serviceEndpoints(service({ tls: { ca: ca.caPath, insecureSkipVerify: false } }))(secure);
    const h2 = serviceEndpoints(service({ protocol: 'h2', tls: { ca: ca.caPath, insecureSkipVerify: false } }))(secure);
    assert.equal(https.protocol, 'http1');
    assert.equal(h2.protocol, 'h2');
    assert.equal(new Set([PLAIN_HTTP1.key, h2c.key, https.key, h2.key]).size, 4);
  });

  it('reads the files once per compile: equal contents give equal keys, a rotated file another', () => {
    const copy = join(ca.dir, 'copy.crt');
    writeFileSync(copy, ca.caCert);
    const key = (tls: NonNullable<ServiceConfig['tls']>) => serviceEndpoints(service({ tls }))(secure).key;
    const first = key({ ca: copy, insecureSkipVerify: false });
    assert.equal(key({ ca: copy, insecureSkipVerify: false }), first);
    assert.notEqual(key({ ca: copy, insecureSkipVerify: true }), first);
    assert.notEqual(key({ ca: copy, serverName: 'api.internal', insecureSkipVerify: false }), first);
    const rotated = new CertAuthority('rotated');
    writeFileSync(copy, rotated.caCert);
    rotated.close();
    assert.notEqual(key({ ca: copy, insecureSkipVerify: false }), first);
  });

  it('names the service and the file it cannot read, and reads nothing for a service without https:// servers', () => {
    const missing = service({ tls: { ca: '/nonexistent/ca.pem', insecureSkipVerify: false } });
    assert.throws(() => serviceEndpoints(missing)(secure), /^Error: service "api": tls\.ca: cannot read \/nonexistent\/ca\.pem: ENOENT$/);
    assert.equal(serviceEndpoints(missing)(plain), PLAIN_HTTP1);
  });
});
