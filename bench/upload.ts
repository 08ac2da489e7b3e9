// The streamed-upload client: POSTs `bytes` zero bytes with a Content-Length,
// writing one reused 256 KiB chunk at a time and honouring backpressure, so the
// client itself never holds more than a few chunks in memory.

import http from 'node:http';

export interface UploadResult {
  bytes: number;
  durationS: number;
  /** Megabytes (10^6 bytes) per second. */
  mbPerS: number;
  status: number;
}

const CHUNK = Buffer.alloc(256 * 1024);

export function streamUpload(url: string, bytes: number, timeoutMs: number): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    });
    const timer = setTimeout(() => fail(new Error(`upload did not finish within ${timeoutMs} ms`)), timeoutMs);
    req.once('error', fail);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.once('error', fail);
      res.once('end', () => {
        if (settled) return;
        const durationS = Number(process.hrtime.bigint() - started) / 1e9;
        const status = res.statusCode ?? 0;
        if (status !== 200) return fail(new Error(`upload answered ${status}: ${body.slice(0, 200)}`));
        const m = /received (\d+)/.exec(body);
        if (!m || Number(m[1]) !== bytes) {
          return fail(new Error(`sink received ${m ? m[1] : '?'} of ${bytes} bytes`));
        }
        settled = true;
        clearTimeout(timer);
        resolve({ bytes, durationS, mbPerS: bytes / 1e6 / durationS, status });
      });
    });

    let remaining = bytes;
    if (remaining === 0) req.end();
    const pump = (): void => {
      while (remaining > 0 && !settled) {
        const n = Math.min(remaining, CHUNK.length);
        remaining -= n;
        const ok = req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
        if (remaining === 0) {
          req.end();
          return;
        }
        if (!ok) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}
