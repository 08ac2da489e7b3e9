import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RateLimitKeyPart } from '../config/types.ts';
import { compileKey, MAX_KEY_BYTES, type KeyFacts } from './key.ts';

function facts(overrides: Partial<KeyFacts> = {}): KeyFacts {
  return { clientIp: '192.0.2.7', rawHeaders: ['Host', 'example.com', 'X-Api-Key', 'k1'], routeName: 'api', ...overrides };
}

const clientIp: RateLimitKeyPart = { kind: 'client_ip' };
const route: RateLimitKeyPart = { kind: 'route' };
const apiKey: RateLimitKeyPart = { kind: 'header', name: 'x-api-key' };

describe('rate limit keys', () => {
  it('are the client address, per client', () => {
    const key = compileKey([clientIp]);
    assert.equal(key(facts()), key(facts({ rawHeaders: [], routeName: 'other' })));
    assert.notEqual(key(facts()), key(facts({ clientIp: '192.0.2.8' })));
  });

  it('are the route name, one bucket per route', () => {
    const key = compileKey([route]);
    assert.equal(key(facts()), key(facts({ clientIp: '198.51.100.1' })));
    assert.notEqual(key(facts()), key(facts({ routeName: 'static' })));
  });

  it('read the first value of a header, whatever the case of its name', () => {
    const key = compileKey([{ kind: 'header', name: 'X-API-Key' }]);
    const first = key(facts({ rawHeaders: ['x-api-key', 'k1', 'X-Api-Key', 'k2'] }));
    assert.equal(first, key(facts({ rawHeaders: ['X-API-KEY', 'k1'] })));
    assert.notEqual(first, key(facts({ rawHeaders: ['X-Api-Key', 'k2'] })));
  });

  it('give requests without the header one key of their own, "" (the same as an empty value)', () => {
    const key = compileKey([apiKey]);
    const missing = key(facts({ rawHeaders: ['Host', 'example.com'] }));
    assert.equal(missing, key(facts({ rawHeaders: [] })));
    assert.equal(missing, key(facts({ rawHeaders: ['X-Api-Key', ''] })));
    assert.notEqual(missing, key(facts()));
  });

  it('combine parts so that no value can pass for another split of the same text', () => {
    const key = compileKey([apiKey, route]);
    assert.notEqual(key(facts()), key(facts({ routeName: 'other' })));
    assert.notEqual(key(facts()), key(facts({ rawHeaders: ['X-Api-Key', 'k2'] })));
    // "a" + "b:c" and "a:b" + "c" must not meet, whatever separator a naive join would use.
    const split1 = key(facts({ rawHeaders: ['X-Api-Key', 'a'], routeName: 'b:c' }));
    const split2 = key(facts({ rawHeaders: ['X-Api-Key', 'a:b'], routeName: 'c' }));
    const split3 = key(facts({ rawHeaders: ['X-Api-Key', 'a\u0000'], routeName: 'b:c' }));
    assert.equal(new Set([split1, split2, split3]).size, 3);
  });

  it('combine client address, header and route', () => {
    const key = compileKey([clientIp, apiKey, route]);
    const base = key(facts());
    for (const changed of [facts({ clientIp: '::1' }), facts({ rawHeaders: [] }), facts({ routeName: 'x' })]) {
      assert.notEqual(key(changed), base);
    }
    assert.equal(key(facts()), base);
  });

  it('with no parts, are one key for every request (a global limit)', () => {
    const key = compileKey([]);
    assert.equal(key(facts()), key(facts({ clientIp: '::1', rawHeaders: [], routeName: 'x' })));
  });

  it('are hashed past MAX_KEY_BYTES, so a client cannot make a bucket as large as its header', () => {
    const key = compileKey([apiKey]);
    const long = 'x'.repeat(64 * 1024);
    const hashed = key(facts({ rawHeaders: ['X-Api-Key', long] }));
    assert.ok(hashed.length <= 64, `key of ${hashed.length} chars`);
    assert.equal(hashed, key(facts({ rawHeaders: ['X-Api-Key', long] })), 'the same value, the same key');
    assert.notEqual(hashed, key(facts({ rawHeaders: ['X-Api-Key', `${long}y`] })));
    // Multi-byte characters count by their UTF-8 size.
    const wide = key(facts({ rawHeaders: ['X-Api-Key', 'é'.repeat(MAX_KEY_BYTES / 2)] }));
    assert.ok(Buffer.byteLength(wide) <= MAX_KEY_BYTES);
    const short = key(facts());
    assert.ok(short.includes('k1'), 'short keys are kept readable');
  });
});
