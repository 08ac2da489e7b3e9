import assert from 'node:assert/strict';
import { it } from 'node:test';
import { H2_PREFACE, sniffPreface } from './protocol-sniff.ts';

it('tells the HTTP/2 preface from HTTP/1.1 at the first byte that differs, and waits while it cannot tell', () => {
  assert.equal(sniffPreface(H2_PREFACE), 'h2');
  assert.equal(sniffPreface(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4])])), 'h2', 'frames after the preface');
  assert.equal(sniffPreface(H2_PREFACE.subarray(0, 10)), 'need-more');
  assert.equal(sniffPreface(Buffer.alloc(0)), 'need-more');
  assert.equal(sniffPreface(Buffer.from('GET / HTTP/1.1\r\n')), 'http1');
  assert.equal(sniffPreface(Buffer.from('P')), 'need-more', 'POST and PUT start like the preface');
  assert.equal(sniffPreface(Buffer.from('POST / HTTP/1.1\r\n')), 'http1');
  assert.equal(sniffPreface(Buffer.from('PRI * HTTP/1.1\r\n')), 'http1');
});
