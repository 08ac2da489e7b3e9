// The backend response parser, case by case: RFC 9112's framing rules and
// the kinds of cases in llhttp's test corpus. Every case is fed whole, byte
// by byte and in three pieces, and must come out the same each way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteByByte, cut, feed, type FeedOptions, type Recorded } from './response-parser.fixtures.ts';
import { DEFAULT_RESPONSE_LIMITS, ResponseParseError, ResponseParser, type ResponseHead } from './response-parser.ts';

const CRLF = '\r\n';

/** A response: the head's lines joined with CRLF, the empty line, then `body`. */
function http(lines: readonly string[], body = ''): string {
  return lines.join(CRLF) + CRLF + CRLF + body;
}

function bytesOf(text: string | Buffer): Buffer {
  return typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
}

function comparable(recorded: Recorded): Omit<Recorded, 'idleBeforeLastPiece'> {
  const { idleBeforeLastPiece: _idle, ...rest } = recorded;
  return rest;
}

/** Parses `text` whole, byte by byte and in thirds; asserts the three agree and returns what was recorded. */
function parse(text: string | Buffer, options: FeedOptions = {}): Recorded {
  const bytes = bytesOf(text);
  const whole = feed([bytes], options);
  const third = Math.floor(bytes.length / 3);
  assert.deepEqual(comparable(feed(byteByByte(bytes), options)), comparable(whole), 'fed byte by byte');
  assert.deepEqual(comparable(feed(cut(bytes, [third, 2 * third]), options)), comparable(whole), 'fed in thirds');
  assert.equal(whole.bodyUncopied, true, 'body chunks are views into the pieces');
  return whole;
}

/** The error message `text` gets, the same whichever way it is fed. */
function errorOf(text: string | Buffer, options: FeedOptions = {}): string {
  const recorded = parse(text, options);
  assert.ok(recorded.error !== undefined, `expected an error, got ${JSON.stringify({ ...recorded, body: recorded.body.toString('latin1') })}`);
  assert.equal(recorded.completions, 0, 'a response in error is never complete');
  return recorded.error;
}

/** The error message of a head that is refused: no head is reported for it. */
function headErrorOf(text: string | Buffer, options: FeedOptions = {}): string {
  const recorded = parse(text, options);
  assert.equal(recorded.heads.length, 0, 'no head is reported for a head in error');
  return errorOf(text, options);
}

function assertComplete(recorded: Recorded, body: string, consumed: number): void {
  assert.equal(recorded.error, undefined);
  assert.equal(recorded.completions, 1);
  assert.equal(recorded.done, true);
  assert.equal(recorded.body.toString('latin1'), body);
  assert.equal(recorded.consumed, consumed);
}

const OK_5 = http(['HTTP/1.1 200 OK', 'Content-Length: 5'], 'hello');

describe('the response parser: status line', () => {
  it('reads status, reason and version', () => {
    const recorded = parse(OK_5);
    assertComplete(recorded, 'hello', OK_5.length);
    assert.deepEqual(recorded.heads, [{
      status: 200, statusText: 'OK', headers: [['Content-Length', '5']], minorVersion: 1, keepAlive: true, keepAliveTimeoutMs: undefined,
    }]);
    assert.equal(recorded.trailers, null);
    const old = parse(http(['HTTP/1.0 404 Not Found', 'Content-Length: 0']));
    assert.equal(old.heads[0]!.minorVersion, 0);
    assert.equal(old.heads[0]!.statusText, 'Not Found');
  });

  it('keeps a reason with spaces, tabs and obs-text as sent, and allows it empty or missing', () => {
    assert.equal(parse(http(['HTTP/1.1 299 a  b\tc \xe9', 'Content-Length: 0'])).heads[0]!.statusText, 'a  b\tc \xe9');
    for (const line of ['HTTP/1.1 200', 'HTTP/1.1 200 ']) {
      const recorded = parse(http([line, 'Content-Length: 0']));
      assert.deepEqual([recorded.heads[0]!.status, recorded.heads[0]!.statusText], [200, ''], JSON.stringify(line));
    }
  });

  it('accepts status codes 100 to 599 only, as exactly three digits', () => {
    assert.equal(parse(http(['HTTP/1.1 599 X', 'Content-Length: 0'])).heads[0]!.status, 599);
    for (const line of ['HTTP/1.1 099 X', 'HTTP/1.1 600 X', 'HTTP/1.1 000', 'HTTP/1.1 20a OK', 'HTTP/1.1 -20 OK']) {
      assert.equal(headErrorOf(http([line, 'Content-Length: 0'])), 'status code not three digits from 100 to 599', line);
    }
    for (const line of ['HTTP/1.1 2000 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 20', 'HTTP/1.1\t200 OK', 'HTTP/1.1 200\tOK', 'HTTP/1.1']) {
      assert.equal(headErrorOf(http([line, 'Content-Length: 0'])), 'malformed status line', line);
    }
  });

  it('accepts HTTP/1.1 and HTTP/1.0 only', () => {
    for (const line of ['HTTP/2.0 200 OK', 'HTTP/1.2 200 OK', 'http/1.1 200 OK', 'HTTP/1 200 OK', 'ICY 200 OK', ' HTTP/1.1 200 OK', '', 'HTTP/1.10 200 OK']) {
      const expected = line === 'HTTP/1.10 200 OK' ? 'malformed status line' : 'status line does not start with HTTP/1.1 or HTTP/1.0';
      assert.equal(headErrorOf(http([line, 'Content-Length: 0'])), expected, JSON.stringify(line));
    }
  });

  it('refuses control characters in the reason', () => {
    for (const reason of ['O\x00K', 'OK\x7f', 'O\x1bK']) {
      assert.equal(headErrorOf(http([`HTTP/1.1 200 ${reason}`, 'Content-Length: 0'])), 'invalid character in the reason phrase', JSON.stringify(reason));
    }
  });
});

describe('the response parser: header fields', () => {
  it('keeps names as sent and trims OWS around values', () => {
    const recorded = parse(http(['HTTP/1.1 200 OK', 'X-Mixed-CASE:   v  \t', 'Empty:', 'Inner:\tspaced  out\t', 'Latin:\xe9t\xe9', 'Content-Length: 0']));
    assert.deepEqual(recorded.heads[0]!.headers, [['X-Mixed-CASE', 'v'], ['Empty', ''], ['Inner', 'spaced  out'], ['Latin', '\xe9t\xe9'], ['Content-Length', '0']]);
  });

  it('hands the head over as latin1 strings, byte for byte (obs-text included)', () => {
    let head: ResponseHead | undefined;
    const parser = new ResponseParser({ onHead: (h) => { head = h; }, onBody: () => {}, onComplete: () => {} });
    parser.start('GET', false);
    const chunk = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nX-Name: caf'), Buffer.from([0xe9]), Buffer.from('\r\nContent-Length: 0\r\n\r\n')]);
    assert.equal(parser.execute(chunk), chunk.length);
    assert.deepEqual(head!.rawHeaders, ['X-Name', 'caf\u00e9', 'Content-Length', '0']);
  });

  it('refuses a folded line (obs-fold), also as the first field', () => {
    assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', 'X-A: 1', ' continued', 'Content-Length: 0'])), 'obs-fold (a line starting with whitespace) in the header section');
    assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', '\tX-A: 1', 'Content-Length: 0'])), 'obs-fold (a line starting with whitespace) in the header section');
  });

  it('refuses whitespace before the colon, an empty name, a line without a colon and non-token names', () => {
    const cases: [string, string][] = [
      ['Content-Length : 0', 'whitespace before the colon in the header section'],
      ['X-A\t: 1', 'whitespace before the colon in the header section'],
      ['X A: 1', 'whitespace before the colon in the header section'],
      [': value', 'empty field name in the header section'],
      ['NoColon', 'field line without a colon in the header section'],
      ['"X": 1', 'invalid character in a field name in the header section'],
      ['X\x00A: 1', 'invalid character in a field name in the header section'],
      ['X(A): 1', 'invalid character in a field name in the header section'],
      ['X\xe9: 1', 'invalid character in a field name in the header section'],
    ];
    for (const [line, expected] of cases) assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', line, 'Content-Length: 0'])), expected, JSON.stringify(line));
  });

  it('refuses NUL and other control characters in a value', () => {
    const cases: [string, string][] = [
      ['X-A: a\x00b', 'invalid byte 0x00 in a field value in the header section'],
      ['X-A: \x01', 'invalid byte 0x01 in a field value in the header section'],
      ['X-A: a\x7f', 'invalid byte 0x7f in a field value in the header section'],
      ['X-A: a\x0bb', 'invalid byte 0x0b in a field value in the header section'],
    ];
    for (const [line, expected] of cases) assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', line, 'Content-Length: 0'])), expected, JSON.stringify(line));
  });
});

describe('the response parser: bare LF and bare CR', () => {
  it('refuses a bare LF in the status line, a field line, the end of the head, a chunk size line and the trailers', () => {
    const cases: [string, string][] = [
      ['HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'bare LF in the status line'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n', 'bare LF in the header section'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n', 'bare LF in the header section'],
      ['HTTP/1.1 200 OK\r\n\nContent-Length: 0\r\n\r\n', 'bare LF in the header section'],
      ['\n', 'bare LF in the status line'],
      [http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '5\nhello\r\n0\r\n\r\n'), 'bare LF in the chunk size line'],
      [http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '5\r\nhello\r\n0\n\r\n'), 'bare LF in the chunk size line'],
      [http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '0\r\nT: 1\n\r\n'), 'bare LF in the trailer section'],
      [http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '0\r\n\n'), 'bare LF in the trailer section'],
    ];
    for (const [text, expected] of cases) assert.equal(errorOf(text), expected, JSON.stringify(text));
  });

  it('refuses a bare LF as soon as it arrives, not when the head never ends', () => {
    const text = 'HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2';
    assert.equal(feed([Buffer.from(text)]).error, 'bare LF in the header section');
    const parser = new ResponseParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
    parser.start('GET', false);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++) {
      const result = parser.execute(bytes.subarray(i, i + 1));
      if (i < text.indexOf('\n', 17)) assert.equal(result, 1, `byte ${i}`);
      else {
        assert.ok(result instanceof ResponseParseError, `byte ${i}`);
        assert.equal(result.message, 'bare LF in the header section');
        break;
      }
    }
  });

  it('refuses a bare CR in the status line, a field name or value, the end of the head, a chunk size line, after chunk data and in the trailers', () => {
    const chunked = (body: string) => http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], body);
    const cases: [string, string][] = [
      ['HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n', 'bare CR in the status line'],
      ['HTTP/1.1\r200 OK\r\nContent-Length: 0\r\n\r\n', 'bare CR in the status line'],
      ['HTTP/1.1 200 OK\r\r\nContent-Length: 0\r\n\r\n', 'bare CR in the status line'],
      ['HTTP/1.1 200 OK\r\nX-A: 1\r2\r\nContent-Length: 0\r\n\r\n', 'bare CR in the header section'],
      ['HTTP/1.1 200 OK\r\nX-A: 1\r\r\nContent-Length: 0\r\n\r\n', 'bare CR in the header section'],
      ['HTTP/1.1 200 OK\r\nX\rA: 1\r\nContent-Length: 0\r\n\r\n', 'bare CR in the header section'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\r\n', 'bare CR in the header section'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\rX', 'bare CR in the header section'],
      [chunked('5\rx\r\nhello\r\n0\r\n\r\n'), 'bare CR in the chunk size line'],
      [chunked('5;a\rb\r\nhello\r\n0\r\n\r\n'), 'bare CR in the chunk size line'],
      [chunked('0\r\nT: 1\r2\r\n\r\n'), 'bare CR in the trailer section'],
      [chunked('0\r\n\rX'), 'bare CR in the trailer section'],
      [chunked('5\r\nhello\rX0\r\n\r\n'), 'chunk data not followed by CRLF'],
    ];
    for (const [text, expected] of cases) assert.equal(errorOf(text), expected, JSON.stringify(text));
  });

  it('refuses a bare CR at once when the line has not ended yet', () => {
    assert.equal(feed([Buffer.from('HTTP/1.1 200 OK\r\nX-A: 1\r2')]).error, 'bare CR in the header section');
    assert.equal(feed([Buffer.from('HTTP/1.1 200 OK\r\nX-A: 1\r'), Buffer.from('2')]).error, 'bare CR in the header section');
    assert.equal(feed([Buffer.from('HTTP/1.1 200 OK\r\nX-A: 1\r')]).error, undefined, 'a CR at the end of a piece may be followed by LF');
  });
});

describe('the response parser: limits', () => {
  /** A head of exactly `size` bytes (status line, padding field, Content-Length: 0, empty line). */
  function headOf(size: number): string {
    const fixed = http(['HTTP/1.1 200 OK', 'X-Pad: ', 'Content-Length: 0']).length;
    return http(['HTTP/1.1 200 OK', `X-Pad: ${'a'.repeat(size - fixed)}`, 'Content-Length: 0']);
  }

  it('allows a head of exactly maxHeaderBytes, counting every CRLF, and refuses one byte more', () => {
    const limits = { maxHeaderBytes: 100, maxHeaderCount: 256 };
    assert.equal(headOf(100).length, 100);
    assertComplete(parse(headOf(100), { limits }), '', 100);
    assert.equal(headErrorOf(headOf(101), { limits }), 'header section larger than 100 bytes');
    const size = DEFAULT_RESPONSE_LIMITS.maxHeaderBytes;
    assertComplete(feed([Buffer.from(headOf(size))]), '', size);
    assert.equal(feed([Buffer.from(headOf(size + 1))]).error, 'header section larger than 65536 bytes');
  });

  it('refuses an oversized head while it arrives, before its end', () => {
    const limits = { maxHeaderBytes: 100, maxHeaderCount: 256 };
    const partial = `HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(100)}`;
    assert.equal(feed([Buffer.from(partial)], { limits }).error, 'header section larger than 100 bytes');
    assert.equal(feed(byteByByte(Buffer.from(partial)), { limits }).error, 'header section larger than 100 bytes');
    // Complete lines, no end of the head yet.
    const lines = `HTTP/1.1 200 OK\r\n${'X-A: 1\r\n'.repeat(20)}`;
    assert.equal(feed([Buffer.from(lines)], { limits }).error, 'header section larger than 100 bytes');
  });

  it('allows maxHeaderCount fields and refuses one more', () => {
    const fields = (count: number) => ['HTTP/1.1 200 OK', ...Array.from({ length: count - 1 }, (_, i) => `X-${i}: ${i}`), 'Content-Length: 0'];
    assert.equal(parse(http(fields(256))).heads[0]!.headers.length, 256);
    assert.equal(headErrorOf(http(fields(257))), 'more than 256 fields in the header section');
    const limits = { maxHeaderBytes: 65536, maxHeaderCount: 3 };
    assert.equal(parse(http(fields(3)), { limits }).heads[0]!.headers.length, 3);
    assert.equal(headErrorOf(http(fields(4)), { limits }), 'more than 3 fields in the header section');
  });

  it('limits the trailer section separately, in bytes and fields', () => {
    const limits = { maxHeaderBytes: 100, maxHeaderCount: 2 };
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n';
    // Trailer section: "T: " + pad + CRLF + CRLF.
    const trailers = (size: number) => `T: ${'b'.repeat(size - 7)}\r\n\r\n`;
    assert.equal(trailers(100).length, 100);
    assert.deepEqual(parse(head + trailers(100), { limits }).trailers, [['T', 'b'.repeat(93)]]);
    assert.equal(errorOf(head + trailers(101), { limits }), 'trailer section larger than 100 bytes');
    assert.equal(feed([Buffer.from(head + 'T: ' + 'b'.repeat(200))], { limits }).error, 'trailer section larger than 100 bytes');
    assert.equal(parse(`${head}A: 1\r\nB: 2\r\n\r\n`, { limits }).trailers!.length, 2);
    assert.equal(errorOf(`${head}A: 1\r\nB: 2\r\nC: 3\r\n\r\n`, { limits }), 'more than 2 fields in the trailer section');
  });

  it('bounds a chunk size line at 4096 bytes with its extensions and CRLF', () => {
    const sizeLine = (bytes: number) => `5;${'e'.repeat(bytes - 4)}\r\n`;
    assert.equal(sizeLine(4096).length, 4096);
    const chunked = (line: string) => http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `${line}hello\r\n0\r\n\r\n`);
    assert.equal(parse(chunked(sizeLine(4096))).body.toString(), 'hello');
    assert.equal(errorOf(chunked(sizeLine(4097))), 'chunk size line longer than 4096 bytes');
    assert.equal(feed([Buffer.from(http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `5;${'e'.repeat(5000)}`))]).error, 'chunk size line longer than 4096 bytes');
  });
});

describe('the response parser: informational responses and upgrades', () => {
  it('skips 100 Continue and 103 Early Hints, reporting only the final head', () => {
    const recorded = parse('HTTP/1.1 100 Continue\r\n\r\n' + 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' + OK_5);
    assert.deepEqual(recorded.heads.map((head) => [head.status, head.headers]), [[200, [['Content-Length', '5']]]]);
    assert.equal(recorded.body.toString(), 'hello');
  });

  it('ignores Content-Length and Transfer-Encoding on a 1xx head', () => {
    const recorded = parse('HTTP/1.1 100 Continue\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n' + OK_5);
    assertComplete(recorded, 'hello', recorded.consumed!);
  });

  it('gives each 1xx head the whole byte limit', () => {
    const limits = { maxHeaderBytes: 60, maxHeaderCount: 256 };
    const early = 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n';
    assert.ok(early.length * 3 > 60 && early.length <= 60);
    assert.equal(parse(early + early + early + http(['HTTP/1.1 204 No Content']), { limits }).heads[0]!.status, 204);
  });

  it('allows 16 informational heads before the final one and refuses a 17th', () => {
    assert.equal(parse('HTTP/1.1 100 Continue\r\n\r\n'.repeat(16) + OK_5).heads[0]!.status, 200);
    assert.equal(headErrorOf('HTTP/1.1 100 Continue\r\n\r\n'.repeat(17) + OK_5), 'more than 16 informational (1xx) responses');
    assert.equal(headErrorOf('HTTP/1.1 102 Processing\r\n\r\n'.repeat(17)), 'more than 16 informational (1xx) responses');
  });

  it('reads a 101 head to a request that asked for an upgrade, and leaves the bytes after it to the tunnel', () => {
    const head = http(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade']);
    const recorded = parse(head + '\x81\x05hello', { upgrade: true });
    assert.deepEqual(recorded.heads, [{
      status: 101, statusText: 'Switching Protocols', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade']],
      minorVersion: 1, keepAlive: false, keepAliveTimeoutMs: undefined,
    }]);
    assert.deepEqual([recorded.done, recorded.upgraded, recorded.consumed, recorded.completions], [true, true, head.length, 0]);
    assert.equal(parse('HTTP/1.1 100 Continue\r\n\r\n' + head, { upgrade: true }).upgraded, true);
  });

  it('refuses a 101 to a request that did not ask for an upgrade', () => {
    assert.equal(headErrorOf(http(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket'])), '101 Switching Protocols to a request that did not ask for an upgrade');
  });

  it('reads an ordinary response to a request that asked for an upgrade', () => {
    const recorded = parse(OK_5, { upgrade: true });
    assert.deepEqual([recorded.upgraded, recorded.body.toString(), recorded.heads[0]!.keepAlive], [false, 'hello', true]);
  });
});

describe('the response parser: framing by Content-Length', () => {
  it('reads a Content-Length body and stops at its end', () => {
    assertComplete(parse(OK_5), 'hello', OK_5.length);
    const empty = http(['HTTP/1.1 200 OK', 'Content-Length: 0']);
    assertComplete(parse(empty), '', empty.length);
  });

  it('takes several equal values, as fields or as a list, as one', () => {
    for (const fields of [['Content-Length: 5', 'Content-Length: 5'], ['Content-Length: 5, 5'], ['Content-Length: 5,5', 'content-length:  5 '], ['Content-Length: 005', 'CONTENT-LENGTH: 5']]) {
      assert.equal(parse(http(['HTTP/1.1 200 OK', ...fields], 'hello')).body.toString(), 'hello', fields.join(' | '));
    }
  });

  it('refuses two different values', () => {
    for (const fields of [['Content-Length: 5', 'Content-Length: 6'], ['Content-Length: 5, 6'], ['Content-Length: 0', 'Content-Length: 5, 5']]) {
      assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', ...fields], 'hello')), 'two different Content-Length values', fields.join(' | '));
    }
  });

  it('refuses a value that is not 1*DIGIT, and one beyond Number.MAX_SAFE_INTEGER', () => {
    for (const value of ['', 'abc', '-1', '+5', '5a', '0x5', '5 5', '5,', ',5', '5,,5', '1e3', '٥']) {
      assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', `Content-Length: ${value}`], 'hello')), 'invalid Content-Length', JSON.stringify(value));
    }
    assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', 'Content-Length: 9007199254740992'])), 'Content-Length larger than 9007199254740991');
    assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', `Content-Length: ${'9'.repeat(40)}`])), 'Content-Length larger than 9007199254740991');
    const largest = feed([Buffer.from(http(['HTTP/1.1 200 OK', 'Content-Length: 9007199254740991'], 'abc'))]);
    assert.deepEqual([largest.error, largest.heads.length, largest.done, largest.body.toString()], [undefined, 1, false, 'abc']);
  });

  it('refuses Content-Length together with Transfer-Encoding, in either order', () => {
    assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', 'Content-Length: 5', 'Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n')), 'both Transfer-Encoding and Content-Length');
    assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 5'], '5\r\nhello\r\n0\r\n\r\n')), 'both Transfer-Encoding and Content-Length');
  });

  it('stops at the end of the response and leaves the bytes beyond it unconsumed', () => {
    const recorded = parse(OK_5 + 'HTTP/1.1 200 OK\r\n');
    assertComplete(recorded, 'hello', OK_5.length);
  });
});

describe('the response parser: responses without a body', () => {
  it('reads no body for HEAD, whatever Content-Length or Transfer-Encoding say', () => {
    for (const field of ['Content-Length: 5', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip', 'Content-Length: nonsense']) {
      const head = http(['HTTP/1.1 200 OK', field]);
      const recorded = parse(head + 'hello', { method: 'HEAD' });
      assertComplete(recorded, '', head.length);
      assert.equal(recorded.heads[0]!.keepAlive, true, field);
    }
  });

  it('reads no body for 204 and 304 even with Content-Length or Transfer-Encoding', () => {
    for (const status of ['204 No Content', '304 Not Modified']) {
      for (const field of ['Content-Length: 5', 'Transfer-Encoding: chunked', 'Content-Length: 1, 2']) {
        const head = http([`HTTP/1.1 ${status}`, field]);
        assertComplete(parse(head + 'hello'), '', head.length);
      }
    }
  });
});

describe('the response parser: Transfer-Encoding', () => {
  const chunkedWith = (field: string) => http(['HTTP/1.1 200 OK', field], '5\r\nhello\r\n0\r\n\r\n');

  it('accepts exactly one chunked coding, in any case, with OWS and empty list elements', () => {
    for (const field of ['Transfer-Encoding: chunked', 'Transfer-Encoding: Chunked', 'transfer-encoding:  CHUNKED\t', 'Transfer-Encoding: , chunked,']) {
      assert.equal(parse(chunkedWith(field)).body.toString(), 'hello', field);
    }
  });

  it('refuses any other coding, chunked twice and an empty Transfer-Encoding', () => {
    const cases: [string[], string][] = [
      [['Transfer-Encoding: gzip'], 'unsupported transfer coding "gzip"'],
      [['Transfer-Encoding: gzip, chunked'], 'unsupported transfer coding "gzip"'],
      [['Transfer-Encoding: chunked, gzip'], 'unsupported transfer coding "gzip"'],
      [['Transfer-Encoding: identity'], 'unsupported transfer coding "identity"'],
      [['Transfer-Encoding: chunked;q=1'], 'unsupported transfer coding "chunked;q=1"'],
      [['Transfer-Encoding: chunked, chunked'], 'Transfer-Encoding chunked applied more than once'],
      [['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], 'Transfer-Encoding chunked applied more than once'],
      [['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'], 'unsupported transfer coding "gzip"'],
      [['Transfer-Encoding:'], 'Transfer-Encoding without a coding'],
      [['Transfer-Encoding: ,'], 'Transfer-Encoding without a coding'],
    ];
    for (const [fields, expected] of cases) {
      assert.equal(headErrorOf(http(['HTTP/1.1 200 OK', ...fields], '5\r\nhello\r\n0\r\n\r\n')), expected, fields.join(' | '));
    }
  });

  it('refuses Transfer-Encoding in an HTTP/1.0 response', () => {
    assert.equal(headErrorOf(http(['HTTP/1.0 200 OK', 'Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n')), 'Transfer-Encoding in an HTTP/1.0 response');
  });
});

describe('the response parser: chunked bodies', () => {
  const chunked = (body: string) => http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], body);

  it('reads chunks to the last chunk, with no trailers as null', () => {
    const text = chunked('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    const recorded = parse(text);
    assertComplete(recorded, 'hello world', text.length);
    assert.equal(recorded.trailers, null);
  });

  it('reads hex sizes in either case and with leading zeros', () => {
    assert.equal(parse(chunked(`a\r\n${'x'.repeat(10)}\r\nB\r\n${'y'.repeat(11)}\r\n0000000000000000001\r\nz\r\n000\r\n\r\n`)).body.toString(), `${'x'.repeat(10)}${'y'.repeat(11)}z`);
  });

  it('skips chunk extensions', () => {
    assert.equal(parse(chunked('5;name=value\r\nhello\r\n1 ; a="b c" ;d\t; e\r\n!\r\n0;last\r\n\r\n')).body.toString(), 'hello!');
  });

  it('hands trailers over as raw fields', () => {
    const recorded = parse(chunked('5\r\nhello\r\n0\r\nX-Checksum: abc\r\nx-other:  2 \t\r\n\r\n'));
    assert.deepEqual(recorded.trailers, [['X-Checksum', 'abc'], ['x-other', '2']]);
  });

  it('refuses a chunk size that is not hex, negative, 0x-prefixed, empty or followed by other than an extension', () => {
    for (const size of ['x', '-1', '0x10', '+5', '', ' 5', '5 ', '5\t', 'g', '5 x']) {
      assert.equal(errorOf(chunked(`${size}\r\nhello\r\n0\r\n\r\n`)), 'invalid chunk size', JSON.stringify(size));
    }
  });

  it('refuses a chunk size of more than 13 significant hex digits', () => {
    assert.equal(errorOf(chunked('10000000000000\r\nhello\r\n0\r\n\r\n')), 'chunk size larger than 13 hex digits');
    assert.equal(errorOf(chunked('ffffffffffffffffffffffff\r\n')), 'chunk size larger than 13 hex digits');
    const largest = feed([Buffer.from(chunked('fffffffffffff\r\nhello'))]);
    assert.deepEqual([largest.error, largest.done, largest.body.toString()], [undefined, false, 'hello']);
  });

  it('refuses control characters in a chunk extension', () => {
    assert.equal(errorOf(chunked('5;a=\x00\r\nhello\r\n0\r\n\r\n')), 'invalid character in a chunk extension');
    assert.equal(errorOf(chunked('5;a=\x7f\r\nhello\r\n0\r\n\r\n')), 'invalid character in a chunk extension');
  });

  it('refuses chunk data not followed by exactly CRLF', () => {
    for (const body of ['5\r\nhelloX\r\n0\r\n\r\n', '5\r\nhelloX\n0\r\n\r\n', '5\r\nhello\rX0\r\n\r\n', '5\r\nhello\n0\r\n\r\n', '5\r\nhello\r\r\n0\r\n\r\n', '3\r\nhello\r\n0\r\n\r\n']) {
      assert.equal(errorOf(chunked(body)), 'chunk data not followed by CRLF', JSON.stringify(body));
    }
  });

  it('refuses malformed trailers like header fields', () => {
    assert.equal(errorOf(chunked('0\r\nT: 1\r\n folded\r\n\r\n')), 'obs-fold (a line starting with whitespace) in the trailer section');
    assert.equal(errorOf(chunked('0\r\nT : 1\r\n\r\n')), 'whitespace before the colon in the trailer section');
    assert.equal(errorOf(chunked('0\r\nT: a\x00\r\n\r\n')), 'invalid byte 0x00 in a field value in the trailer section');
  });

  it('leaves the bytes after the last chunk unconsumed', () => {
    const text = chunked('5\r\nhello\r\n0\r\n\r\n');
    assertComplete(parse(text + 'junk'), 'hello', text.length);
  });
});

describe('the response parser: keep-alive', () => {
  const keepAlive = (lines: string[], options: FeedOptions = {}) => parse(http(lines), options).heads[0]!.keepAlive;

  it('keeps an HTTP/1.1 connection unless Connection says close', () => {
    assert.equal(keepAlive(['HTTP/1.1 200 OK', 'Content-Length: 0']), true);
    assert.equal(keepAlive(['HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 0']), false);
    assert.equal(keepAlive(['HTTP/1.1 200 OK', 'Connection: Upgrade, CLOSE', 'Content-Length: 0']), false);
    assert.equal(keepAlive(['HTTP/1.1 200 OK', 'Connection: keep-alive', 'Connection: close', 'Content-Length: 0']), false);
    assert.equal(keepAlive(['HTTP/1.1 200 OK', 'Connection: closed', 'Content-Length: 0']), true);
  });

  it('keeps an HTTP/1.0 connection only with Connection: keep-alive', () => {
    assert.equal(keepAlive(['HTTP/1.0 200 OK', 'Content-Length: 0']), false);
    assert.equal(keepAlive(['HTTP/1.0 200 OK', 'Connection: Keep-Alive', 'Content-Length: 0']), true);
    assert.equal(keepAlive(['HTTP/1.0 200 OK', 'Connection: foo ,keep-alive', 'Content-Length: 0']), true);
    assert.equal(keepAlive(['HTTP/1.0 200 OK', 'Connection: keep-alive, close', 'Content-Length: 0']), false);
  });

  it('never keeps a connection whose body ends with it', () => {
    assert.equal(keepAlive(['HTTP/1.1 200 OK', 'Connection: keep-alive']), false);
  });

  it('reads the timeout of a Keep-Alive header in ms', () => {
    const timeout = (value: string) => parse(http(['HTTP/1.1 200 OK', `Keep-Alive: ${value}`, 'Content-Length: 0'])).heads[0]!.keepAliveTimeoutMs;
    assert.equal(timeout('timeout=5, max=100'), 5000);
    assert.equal(timeout('max=100, Timeout = 7'), 7000);
    assert.equal(timeout('timeout=abc'), undefined);
    assert.equal(timeout('timeout=-1'), undefined);
    assert.equal(timeout('max=5'), undefined);
    assert.equal(parse(http(['HTTP/1.1 200 OK', 'Content-Length: 0'])).heads[0]!.keepAliveTimeoutMs, undefined);
  });
});

describe('the response parser: close-delimited bodies and finish()', () => {
  it('reads a body without Content-Length or Transfer-Encoding to the end of the connection', () => {
    const text = http(['HTTP/1.1 200 OK', 'X-A: 1'], 'all of this\r\n\r\nand this');
    const open = parse(text);
    assert.deepEqual([open.error, open.completions, open.done, open.body.toString()], [undefined, 0, false, 'all of this\r\n\r\nand this']);
    const closed = parse(text, { eof: true });
    assertComplete(closed, 'all of this\r\n\r\nand this', text.length);
    assert.equal(closed.trailers, null);
    assert.equal(closed.heads[0]!.keepAlive, false);
    assertComplete(parse(http(['HTTP/1.0 200 OK']), { eof: true }), '', http(['HTTP/1.0 200 OK']).length);
  });

  it('refuses an end of the connection in the middle of a head or a framed body', () => {
    for (const text of ['HTTP/1.1 200 OK\r\nContent-Le', 'H', http(['HTTP/1.1 200 OK', 'Content-Length: 5'], 'hel'), http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '5\r\nhello\r\n'), 'HTTP/1.1 100 Continue\r\n\r\n']) {
      assert.equal(parse(text, { eof: true }).error, 'backend closed the connection before the response was complete', JSON.stringify(text));
    }
  });

  it('refuses an end of the connection before any byte of the response', () => {
    const recorded = feed([], { eof: true });
    assert.equal(recorded.error, 'backend closed the connection before sending a response');
  });

  it('returns nothing from finish() after a complete response, and the error after an error', () => {
    const parser = new ResponseParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
    parser.start('GET', false);
    assert.equal(parser.execute(Buffer.from(OK_5)), OK_5.length);
    assert.equal(parser.finish(), undefined);
    parser.start('GET', false);
    const error = parser.execute(Buffer.from('HTTP/1.1 200 OK\n'));
    assert.ok(error instanceof ResponseParseError);
    assert.equal(parser.finish(), error);
  });
});

describe('the response parser: its life over a connection', () => {
  function quietParser(): ResponseParser {
    return new ResponseParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
  }

  it('needs start() before each response', () => {
    const parser = quietParser();
    const before = parser.execute(Buffer.from(OK_5));
    assert.ok(before instanceof ResponseParseError);
    assert.equal(before.message, 'execute() before start()');
    assert.equal(before.code, 'WEIR_UPSTREAM_PROTOCOL');
    parser.start('GET', false);
    assert.equal(parser.execute(Buffer.from(OK_5)), OK_5.length);
    assert.equal(parser.done, true);
    const after = parser.execute(Buffer.from(OK_5));
    assert.ok(after instanceof ResponseParseError);
    assert.equal(after.message, 'bytes after the end of the response (start() was not called)');
    parser.start('GET', false);
    assert.deepEqual([parser.done, parser.idle], [false, true]);
    assert.equal(parser.execute(Buffer.from(OK_5)), OK_5.length, 'reads the next response after start()');
  });

  it('stays in error until start()', () => {
    const parser = quietParser();
    parser.start('GET', false);
    const error = parser.execute(Buffer.from('HTTP/3 200 OK\r\n'));
    assert.ok(error instanceof ResponseParseError);
    assert.equal(parser.execute(Buffer.from(OK_5)), error);
    assert.equal(parser.done, false);
  });

  it('is idle until the first byte of the response, even an empty piece', () => {
    const parser = quietParser();
    assert.equal(parser.idle, true);
    parser.start('GET', false);
    assert.equal(parser.execute(Buffer.alloc(0)), 0);
    assert.equal(parser.idle, true);
    assert.equal(parser.execute(Buffer.from('H')), 1);
    assert.equal(parser.idle, false);
    const continued = feed([Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'), Buffer.from('H')]);
    assert.equal(continued.idleBeforeLastPiece, false, 'a 1xx head is a byte of the response');
  });

  it('returns at once when onComplete() starts the next response', () => {
    const completed: number[] = [];
    const parser: ResponseParser = new ResponseParser({
      onHead: () => {},
      onBody: () => {},
      onComplete: () => {
        completed.push(1);
        parser.start('GET', false);
      },
    });
    const chunked = http(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n');
    for (const response of [OK_5, http(['HTTP/1.1 204 No Content']), chunked]) {
      completed.length = 0;
      parser.start('GET', false);
      assert.equal(parser.execute(Buffer.from(response + response)), response.length, response);
      assert.equal(completed.length, 1);
      assert.equal(parser.idle, true);
    }
  });
});
