import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CertAuthority } from '../../test/helpers/certs.ts';
import { loadConfigText } from './load.ts';
import { issuesIn, yaml } from './issues.fixtures.ts';

const ca = new CertAuthority();
after(() => ca.close());
const good = ca.issue({ names: ['example.com', '*.example.net'] });
const other = ca.issue({ names: ['other.example.org'] });
const expired = ca.issue({ names: ['old.example.com'], startDaysAgo: 30, days: -2 });

const routesAndServices = ['routes:', '  - host: example.com', '    service: api', '  - host: "*.example.net"', '    service: api', 'services:', '  api:', '    servers: [127.0.0.1:8081]'];

test('listen alone is one plain HTTP/1.1 listener', () => {
  const config = loadConfigText(yaml('listen: 127.0.0.1:9000', ...routesAndServices), 'weir.yaml');
  assert.deepEqual(config.listeners, [{ address: { host: '127.0.0.1', port: 9000 }, http2: false }]);
});

test('listeners: plain and TLS, HTTP/2 on by default only with TLS, listen is the first', () => {
  const config = loadConfigText(
    yaml(
      'listeners:',
      '  - address: 0.0.0.0:80',
      '  - address: 0.0.0.0:443',
      '    tls:',
      '      certificates:',
      `        - { cert: ${good.certPath}, key: ${good.keyPath} }`,
      '  - address: 127.0.0.1:8081',
      '    http2: true',
      ...routesAndServices,
    ),
    'weir.yaml',
  );
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 80 });
  assert.deepEqual(config.listeners, [
    { address: { host: '0.0.0.0', port: 80 }, http2: false },
    { address: { host: '0.0.0.0', port: 443 }, http2: true, tls: { minVersion: 'TLSv1.2', certificates: [{ cert: good.certPath, key: good.keyPath }] } },
    { address: { host: '127.0.0.1', port: 8081 }, http2: true },
  ]);
});

test('acme takes its domains from the exact hosts of the routes, with Let\'s Encrypt and the default storage', () => {
  const config = loadConfigText(
    yaml('listeners:', '  - address: 0.0.0.0:80', '  - address: 0.0.0.0:443', '    tls:', '      acme: { email: ops@example.com }', ...routesAndServices),
    'weir.yaml',
  );
  assert.deepEqual(config.listeners[1]!.tls!.acme, {
    email: 'ops@example.com',
    directory: 'https://acme-v02.api.letsencrypt.org/directory',
    domains: ['example.com'],
    storage: '/var/lib/weir/acme',
    renewAfterShare: 2 / 3,
  });
});

test('certificate files are checked where they are named: missing, expired, key of another certificate', () => {
  const issues = issuesIn(
    yaml(
      'listeners:',
      '  - address: 0.0.0.0:443',
      '    tls:',
      '      certificates:',
      '        - cert: /nonexistent/weir.crt',
      `          key: ${good.keyPath}`,
      `        - cert: ${expired.certPath}`,
      `          key: ${expired.keyPath}`,
      `        - cert: ${good.certPath}`,
      `          key: ${other.keyPath}`,
      ...routesAndServices,
    ),
  );
  assert.equal(issues.length, 3, issues.join('\n'));
  assert.match(issues[0]!, /^weir\.yaml:5:17: listeners\[0\]\.tls\.certificates\[0\]\.cert: .*\/nonexistent\/weir\.crt.*ENOENT/);
  assert.match(issues[1]!, /^weir\.yaml:7:17: listeners\[0\]\.tls\.certificates\[1\]\.cert: .*expired/);
  assert.match(issues[2]!, /^weir\.yaml:10:16: listeners\[0\]\.tls\.certificates\[2\]\.key: .*(match|belong)/);
});

test('listener mistakes are named with their key', () => {
  assert.deepEqual(issuesIn(yaml('listen: 127.0.0.1:80', 'listeners:', '  - address: 127.0.0.1:81', ...routesAndServices)), [
    'weir.yaml:1:9: listen: give either listen (one plain listener) or listeners, not both',
  ]);
  assert.deepEqual(issuesIn(yaml('listeners:', '  - address: 127.0.0.1:443', '    tls: {}', ...routesAndServices)), [
    'weir.yaml:3:5: listeners[0].tls.certificates: a TLS listener needs certificates (files) or acme',
  ]);
  assert.deepEqual(issuesIn(yaml('listeners:', '  - address: 127.0.0.1:81', '  - address: 127.0.0.1:81', ...routesAndServices)), [
    'weir.yaml:3:14: listeners[1].address: 127.0.0.1:81 is already the address of listeners[0]',
  ]);
  assert.deepEqual(
    issuesIn(yaml('listeners:', '  - address: 127.0.0.1:443', '    tls:', '      acme: { email: ops@example.com }', ...routesAndServices)),
    ['weir.yaml:4:13: listeners[0].tls.acme: needs a plain listener too (port 80 for a public CA): the CA checks the HTTP-01 challenge over plain HTTP'],
  );
  assert.deepEqual(
    issuesIn(yaml('listeners:', '  - address: 127.0.0.1:443', '    tls:', '      min_version: TLSv1.1', `      certificates: [{ cert: ${good.certPath}, key: ${good.keyPath} }]`, ...routesAndServices)),
    ['weir.yaml:4:20: listeners[0].tls.min_version: "TLSv1.1" is not one of "TLSv1.2", "TLSv1.3"; did you mean "TLSv1.2"?'],
  );
});

const withServers = (...service: string[]) => yaml('routes:', '  - service: api', 'services:', '  api:', ...service);

test('https:// servers are reached over TLS; protocol and tls are read', () => {
  const config = loadConfigText(
    withServers('    protocol: h2', '    servers: ["https://10.0.0.1:8443", { address: "https://[::1]:8443", weight: 2 }]', '    tls:', `      ca: ${ca.caPath}`, '      server_name: api.internal'),
    'weir.yaml',
  );
  const api = config.services.get('api')!;
  assert.equal(api.protocol, 'h2');
  assert.deepEqual(api.servers, [
    { address: { host: '10.0.0.1', port: 8443 }, tls: true, weight: 1, backup: false },
    { address: { host: '::1', port: 8443 }, tls: true, weight: 2, backup: false },
  ]);
  assert.deepEqual(api.tls, { ca: ca.caPath, serverName: 'api.internal', insecureSkipVerify: false });
  const plain = loadConfigText(withServers('    servers: ["http://10.0.0.1:80", 10.0.0.2:80]'), 'weir.yaml').services.get('api')!;
  assert.deepEqual(plain.servers.map((s) => s.tls), [false, false]);
  assert.equal(plain.protocol, 'http1');
});

test('backend TLS mistakes are named with their key', () => {
  assert.deepEqual(issuesIn(withServers('    protocol: h2', '    servers: [10.0.0.1:80]')), [
    'weir.yaml:6:15: services.api.servers[0]: protocol h2 is HTTP/2 over TLS: write the server as https://HOST:PORT (or use protocol h2c for plain HTTP/2)',
  ]);
  assert.deepEqual(issuesIn(withServers('    protocol: h2c', '    servers: ["https://10.0.0.1:80"]')), [
    'weir.yaml:6:15: services.api.servers[0]: protocol h2c is HTTP/2 without TLS: write the server as HOST:PORT (or use protocol h2 for HTTP/2 over TLS)',
  ]);
  assert.deepEqual(issuesIn(withServers('    servers: [10.0.0.1:80]', '    tls: { insecure_skip_verify: true }')), [
    'weir.yaml:6:10: services.api.tls: applies only to servers written https://HOST:PORT, and this service has none',
  ]);
  assert.deepEqual(issuesIn(withServers('    servers: ["ftp://10.0.0.1:80"]')), [
    'weir.yaml:5:15: services.api.servers[0]: "ftp://10.0.0.1:80": the scheme must be http:// or https://',
  ]);
  const missingCa = issuesIn(withServers('    servers: ["https://10.0.0.1:443"]', '    tls: { ca: /nonexistent/ca.pem }'));
  assert.equal(missingCa.length, 1);
  assert.match(missingCa[0]!, /^weir\.yaml:6:16: services\.api\.tls\.ca: cannot read \/nonexistent\/ca\.pem: ENOENT/);
  assert.deepEqual(issuesIn(withServers('    servers: ["https://10.0.0.1:443"]', `    tls: { cert: ${good.certPath} }`)), [
    'weir.yaml:6:5: services.api.tls.key: is needed with cert: a client certificate is a certificate and its key',
  ]);
});
