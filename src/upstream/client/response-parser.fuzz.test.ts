// The response parser against generated responses: valid ones of every
// framing, cut into random pieces, must come out exactly as generated; and
// mutated ones must never make it throw, report more body than it was fed,
// or leave an error once it has returned one.
//
// Deterministic: the seed is fixed unless WEIR_FUZZ_SEED is set, and a
// failure names the seed and the case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteByByte, cut, feed, referenceParse, seededRandom, type FeedOptions, type Recorded, type RecordedHead, type ReferenceOutcome } from './response-parser.fixtures.ts';
import { ResponseParseError, ResponseParser } from './response-parser.ts';

const SEED = process.env.WEIR_FUZZ_SEED === undefined ? 0x5eed_1234 : Number(process.env.WEIR_FUZZ_SEED);
const VALID_CASES = 4_000;
const MUTATED_CASES = 8_000;

/** Runs `count` cases, each with its own generator from the seed, and names the seed and case of a failure. */
function eachCase(count: number, salt: number, run: (random: () => number, index: number) => void): void {
  for (let index = 0; index < count; index++) {
    const random = seededRandom((SEED ^ Math.imul(index + 1, 0x9e3779b1) ^ salt) >>> 0);
    try {
      run(random, index);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`case ${index} failed (reproduce with WEIR_FUZZ_SEED=${SEED}): ${message}`, { cause: error });
    }
  }
}

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Fields the generator writes itself, so that random ones never collide with them. */
const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

interface Response {
  bytes: Buffer;
  /** Bytes the backend sent beyond the response (none for a close-delimited body). */
  extra: Buffer;
  options: FeedOptions;
  head: RecordedHead;
  body: Buffer;
  trailers: [string, string][] | null;
  upgraded: boolean;
}

function tools(random: () => number) {
  const int = (below: number) => Math.floor(random() * below);
  const chance = (p: number) => random() < p;
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const randomCase = (text: string) => [...text].map((c) => (chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
  const ows = () => pick(['', '', ' ', '\t', '  ', ' \t ']);
  /** A byte of field-value text other than OWS: VCHAR or obs-text. */
  const visible = () => String.fromCharCode(chance(0.9) ? 0x21 + int(0x5e) : 0x80 + int(0x80));
  const text = (maxLength: number) => {
    const length = int(maxLength + 1);
    let value = '';
    for (let i = 0; i < length; i++) value += i > 0 && i < length - 1 && chance(0.1) ? pick([' ', '\t']) : visible();
    return value;
  };
  const token = (maxLength: number) => {
    let name = '';
    const length = 1 + int(maxLength);
    for (let i = 0; i < length; i++) name += pick([...TCHARS]);
    return FRAMING_NAMES.has(name.toLowerCase()) ? `x${name}` : name;
  };
  const bytes = (length: number) => {
    const buffer = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) buffer[i] = chance(0.1) ? pick([0x0d, 0x0a, 0x30]) : int(256);
    return buffer;
  };
  return { int, chance, pick, randomCase, ows, text, token, bytes };
}

type Tools = ReturnType<typeof tools>;

/** Random fields, written with random OWS around the value; returns the lines and the fields as read. */
function randomFields(t: Tools, max: number): { lines: string[]; fields: [string, string][] } {
  const lines: string[] = [];
  const fields: [string, string][] = [];
  const count = t.int(max + 1);
  for (let i = 0; i < count; i++) {
    const name = t.token(12);
    const value = t.text(30);
    lines.push(`${name}:${t.ows()}${value}${value === '' ? '' : t.ows()}`);
    fields.push([name, value]);
  }
  return { lines, fields };
}

function statusLine(t: Tools, minor: number, status: number): { line: string; statusText: string } {
  const version = `HTTP/1.${minor} ${status}`;
  const form = t.int(4);
  if (form === 0) return { line: version, statusText: '' };
  const statusText = form === 1 ? '' : t.chance(0.5) ? t.pick(['OK', 'Not Found', 'Switching Protocols']) : t.text(20);
  return { line: `${version} ${statusText}`, statusText };
}

function hexSize(t: Tools, size: number): string {
  return '0'.repeat(t.chance(0.2) ? t.int(4) : 0) + (t.chance(0.5) ? size.toString(16) : size.toString(16).toUpperCase());
}

function chunkExtension(t: Tools): string {
  if (!t.chance(0.3)) return '';
  return t.pick([';a', ';name=value', ' ; q="quoted value"', ';x=1;y', '\t;ext=\xe9']);
}

const CRLF = '\r\n';

/** A valid response of a random framing, with what the parser must report for it. */
function generate(t: Tools): Response {
  const minor = t.chance(0.2) ? 0 : 1;
  let kind = t.pick(['length', 'length', 'chunked', 'chunked', 'close', 'head', 'no-content', 'upgrade'] as const);
  if (kind === 'chunked' && minor === 0) kind = 'length';
  const options: FeedOptions = { method: kind === 'head' ? 'HEAD' : t.pick(['GET', 'POST', 'PUT']), upgrade: kind === 'upgrade' || t.chance(0.1) };

  const informational: string[] = [];
  for (let i = t.chance(0.3) ? t.int(4) : 0; i > 0; i--) {
    const status = t.pick([100, 102, 103]);
    const { lines } = randomFields(t, 3);
    if (t.chance(0.2)) lines.push(`Content-Length: ${t.int(100)}`);
    informational.push([statusLine(t, minor, status).line, ...lines].join(CRLF) + CRLF + CRLF);
  }

  let status: number;
  if (kind === 'no-content') status = t.pick([204, 304]);
  else if (kind === 'upgrade') status = 101;
  else do status = 200 + t.int(400); while (status === 204 || status === 304);
  const { line, statusText } = statusLine(t, minor, status);

  const { lines, fields } = randomFields(t, 10);
  const add = (name: string, value: string) => {
    lines.splice(t.int(lines.length + 1), 0, `${name}:${t.ows()}${value}${t.ows()}`);
  };

  const connection = t.pick(['', '', 'close', 'keep-alive', 'Keep-Alive, Upgrade', 'upgrade']);
  if (connection !== '') add(t.randomCase('Connection'), connection);
  const hasClose = connection === 'close';
  const hasKeepAlive = connection.toLowerCase().includes('keep-alive');
  let keepAliveTimeoutMs: number | undefined;
  if (t.chance(0.3)) {
    const seconds = t.int(100);
    keepAliveTimeoutMs = seconds * 1000;
    add('Keep-Alive', t.chance(0.5) ? `timeout=${seconds}, max=${t.int(1000)}` : `max=${t.int(1000)}, timeout=${seconds}`);
  }

  let body = Buffer.alloc(0);
  let bodyBytes = Buffer.alloc(0);
  let trailers: [string, string][] | null = null;
  const bodyLength = t.chance(0.1) ? t.int(5000) : t.int(200);
  if (kind === 'length') {
    body = t.bytes(bodyLength);
    bodyBytes = body;
    add(t.randomCase('Content-Length'), String(bodyLength));
    if (t.chance(0.2)) add('Content-Length', t.chance(0.5) ? `${bodyLength}, ${bodyLength}` : `00${bodyLength}`);
  } else if (kind === 'chunked') {
    body = t.bytes(bodyLength);
    add(t.randomCase('Transfer-Encoding'), t.chance(0.8) ? 'chunked' : ', Chunked');
    const pieces: Buffer[] = [];
    for (let at = 0; at < body.length;) {
      const size = Math.min(body.length - at, 1 + t.int(t.chance(0.5) ? 20 : 2000));
      pieces.push(Buffer.from(hexSize(t, size) + chunkExtension(t) + CRLF, 'latin1'), body.subarray(at, at + size), Buffer.from(CRLF));
      at += size;
    }
    const trailer = t.chance(0.3) ? randomFields(t, 4) : { lines: [], fields: [] };
    trailers = trailer.fields.length === 0 ? null : trailer.fields;
    pieces.push(Buffer.from(`${'0'.repeat(1 + t.int(3))}${chunkExtension(t)}${CRLF}${trailer.lines.map((l) => l + CRLF).join('')}${CRLF}`, 'latin1'));
    bodyBytes = Buffer.concat(pieces);
  } else if (kind === 'close') {
    body = t.bytes(bodyLength);
    bodyBytes = body;
  } else if (kind === 'head') {
    // A HEAD response's framing fields describe the GET response, not this one.
    const framing = t.pick(['', `Content-Length: ${t.int(100_000)}`, 'Transfer-Encoding: chunked']);
    if (framing !== '') lines.push(framing);
  } else if (kind === 'no-content') {
    if (t.chance(0.3)) lines.push(`Content-Length: ${t.int(100)}`);
  } else {
    lines.push('Upgrade: websocket');
  }

  const head = [line, ...lines].join(CRLF) + CRLF + CRLF;
  const headFields = lines.map((fieldLine): [string, string] => {
    const colon = fieldLine.indexOf(':');
    return [fieldLine.slice(0, colon), fieldLine.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')];
  });
  assert.deepEqual(headFields.filter(([name]) => !FRAMING_NAMES.has(name.toLowerCase()) && name !== 'Upgrade'), fields, 'the generator reads back its own fields');

  const keepAlive = kind !== 'close' && kind !== 'upgrade' && !hasClose && (minor === 1 || hasKeepAlive);
  // The tunnel's bytes, or the start of whatever a backend sent beyond its response.
  const extra = kind === 'close' || !t.chance(0.3) ? Buffer.alloc(0) : t.bytes(1 + t.int(50));
  options.eof = kind === 'close';
  return {
    bytes: Buffer.concat([Buffer.from(informational.join('') + head, 'latin1'), bodyBytes]),
    extra,
    options,
    head: { status, statusText, headers: headFields, minorVersion: minor, keepAlive, keepAliveTimeoutMs },
    body: kind === 'head' || kind === 'no-content' || kind === 'upgrade' ? Buffer.alloc(0) : body,
    trailers,
    upgraded: kind === 'upgrade',
  };
}

/** `bytes` in random pieces: sometimes one byte each, sometimes whole, mostly a few random cuts. */
function randomPieces(t: Tools, bytes: Buffer): Buffer[] {
  const way = t.int(10);
  if (way === 0 && bytes.length < 3000) return byteByByte(bytes);
  if (way === 1) return [bytes];
  const cuts = Array.from({ length: 1 + t.int(way < 5 ? 4 : 30) }, () => t.int(bytes.length));
  return cut(bytes, cuts);
}

describe(`the response parser, fuzzed (WEIR_FUZZ_SEED=${SEED})`, () => {
  it(`reads ${VALID_CASES} generated valid responses fed in random pieces exactly as generated`, () => {
    const framings = new Map<string, number>();
    eachCase(VALID_CASES, 0, (random) => {
      const t = tools(random);
      const response = generate(t);
      const recorded = feed(randomPieces(t, Buffer.concat([response.bytes, response.extra])), response.options);
      assert.equal(recorded.error, undefined);
      assert.deepEqual(recorded.heads, [response.head]);
      assert.ok(recorded.body.equals(response.body), `body of ${response.body.length} bytes, read ${recorded.body.length}`);
      assert.equal(recorded.bodyUncopied, true, 'body chunks are views into the pieces');
      assert.equal(recorded.done, true);
      assert.equal(recorded.upgraded, response.upgraded);
      assert.equal(recorded.completions, response.upgraded ? 0 : 1);
      assert.deepEqual(recorded.trailers, response.upgraded ? undefined : response.trailers);
      assert.equal(recorded.consumed, response.bytes.length);
      assert.deepEqual(outcomeOf(recorded), referenceOutcome(Buffer.concat([response.bytes, response.extra]), response.options), 'the reference reading agrees');
      const key = `${response.options.method === 'HEAD' ? 'HEAD' : response.head.status} ${response.trailers ? 'trailers' : ''}`;
      framings.set(key, (framings.get(key) ?? 0) + 1);
    });
    assert.ok(framings.size > 100, 'the cases cover many statuses');
  });

  it(`never throws on ${MUTATED_CASES} mutated responses, never reports more body than it was fed, and stays in error`, () => {
    let errors = 0;
    eachCase(MUTATED_CASES, 0x6d75_7461, (random) => {
      const t = tools(random);
      const response = generate(t);
      const bytes = mutate(t, Buffer.concat([response.bytes, response.extra]));
      const options = t.chance(0.5) ? response.options : { method: t.pick(['GET', 'HEAD']), upgrade: t.chance(0.3) };
      let fed = 0;
      let bodyBytes = 0;
      let heads = 0;
      let completions = 0;
      let current: Buffer = Buffer.alloc(0);
      const parser = new ResponseParser({
        onHead: () => {
          heads++;
          assert.equal(completions, 0, 'no head after the end of the response');
        },
        onBody: (chunk) => {
          assert.ok(chunk.buffer === current.buffer && chunk.byteOffset >= current.byteOffset
            && chunk.byteOffset + chunk.length <= current.byteOffset + current.length, 'a body chunk is a view into the piece');
          assert.ok(chunk.length > 0, 'no empty body chunks');
          assert.equal(heads, 1, 'body only after the head');
          bodyBytes += chunk.length;
        },
        onComplete: () => {
          completions++;
        },
      });
      parser.start(options.method ?? 'GET', options.upgrade ?? false);
      let failure: ResponseParseError | undefined;
      let ended = false;
      for (const piece of randomPieces(t, bytes)) {
        current = piece;
        const result = parser.execute(piece);
        if (failure !== undefined || ended) {
          assert.ok(result instanceof ResponseParseError, 'an error or a finished response stays an error');
          if (failure !== undefined) assert.equal(result, failure, 'the same error');
          failure = result;
          continue;
        }
        if (result instanceof ResponseParseError) {
          assert.equal(result.code, 'WEIR_UPSTREAM_PROTOCOL');
          assert.ok(result.message.length > 0);
          failure = result;
          continue;
        }
        assert.ok(Number.isInteger(result) && result >= 0 && result <= piece.length, `consumed ${result} of ${piece.length}`);
        fed += result;
        assert.ok(bodyBytes <= fed, `body ${bodyBytes} bytes, fed ${fed}`);
        if (result < piece.length) assert.equal(parser.done, true, 'only a finished response leaves bytes unconsumed');
        ended = parser.done;
      }
      const finished = parser.finish();
      if (failure !== undefined && !ended) assert.equal(finished, failure, 'finish() after an error returns it');
      else if (finished !== undefined) assert.ok(finished instanceof ResponseParseError);
      assert.ok(heads <= 1 && completions <= 1, `${heads} heads, ${completions} completions`);
      if (failure !== undefined) errors++;
    });
    assert.ok(errors > MUTATED_CASES / 4, `mutations make errors (${errors})`);
  });

  it(`agrees with a plain reference reading of the rules on ${MUTATED_CASES} mutated responses`, () => {
    const outcomes = new Map<string, number>();
    eachCase(MUTATED_CASES, 0x6469_6666, (random) => {
      const t = tools(random);
      const response = generate(t);
      const bytes = mutate(t, Buffer.concat([response.bytes, response.extra]));
      const options = t.chance(0.7) ? response.options : { method: t.pick(['GET', 'HEAD']), upgrade: t.chance(0.3), eof: t.chance(0.5) };
      const outcome = outcomeOf(feed(randomPieces(t, bytes), options));
      assert.deepEqual(outcome, referenceOutcome(bytes, options), `input ${JSON.stringify(bytes.toString('latin1'))}`);
      outcomes.set(outcome.outcome, (outcomes.get(outcome.outcome) ?? 0) + 1);
    });
    for (const outcome of ['error', 'incomplete', 'complete', 'upgraded']) assert.ok((outcomes.get(outcome) ?? 0) > 20, `${outcome}: ${outcomes.get(outcome)}`);
  });
});

/** What the parser made of a response, in the reference reading's terms. */
function outcomeOf(recorded: Recorded): ReferenceOutcome {
  if (recorded.error !== undefined) return { outcome: 'error' };
  if (!recorded.done) return { outcome: 'incomplete' };
  return {
    outcome: recorded.upgraded ? 'upgraded' : 'complete',
    head: recorded.heads[0]!,
    body: recorded.body,
    trailers: recorded.upgraded ? null : recorded.trailers!,
    consumed: recorded.consumed!,
  };
}

function referenceOutcome(bytes: Buffer, options: FeedOptions): ReferenceOutcome {
  return referenceParse(bytes, options.method ?? 'GET', options.upgrade ?? false, options.eof ?? false);
}

/** `bytes` with one to three random mutations: flipped, replaced, inserted or deleted bytes, a repeated line, a cut. */
function mutate(t: Tools, bytes: Buffer): Buffer {
  let result = Buffer.from(bytes);
  const interesting = [0x0d, 0x0a, 0x3a, 0x20, 0x09, 0x30, 0x66, 0x3b, 0x2c, 0x00, 0x80, 0x7f, 0x2d, 0x31];
  for (let n = 1 + t.int(3); n > 0 && result.length > 0; n--) {
    const at = t.int(result.length);
    switch (t.int(6)) {
      case 0:
        result[at] = result[at]! ^ (1 << t.int(8));
        break;
      case 1:
        result[at] = t.pick(interesting);
        break;
      case 2:
        result = Buffer.concat([result.subarray(0, at), Buffer.of(t.chance(0.7) ? t.pick(interesting) : t.int(256)), result.subarray(at)]);
        break;
      case 3:
        result = Buffer.concat([result.subarray(0, at), result.subarray(at + 1)]);
        break;
      case 4: {
        const start = result.lastIndexOf('\r\n', at) + 2;
        const end = result.indexOf('\r\n', at);
        if (end !== -1) result = Buffer.concat([result.subarray(0, end + 2), result.subarray(start, end + 2), result.subarray(end + 2)]);
        break;
      }
      default:
        result = result.subarray(0, at);
    }
  }
  return result;
}
