import { send } from './client.ts';

export interface RateLoad {
  allowed: number;
  limited: number;
  seconds: number;
}

/**
 * Eight clients, each sending one request after another (request i of client
 * c to `urlFor(c + i)`), for `forMs` and on until the load has gone past the
 * limit, up to `atMostMs` (a slow machine needs longer). Counts 200s and
 * 429s; any other status fails the test.
 */
export async function loadAgainstLimit(urlFor: (i: number) => string, forMs: number, atMostMs = 15_000): Promise<RateLoad> {
  let allowed = 0;
  let limited = 0;
  const started = performance.now();
  const goOn = (): boolean => {
    const elapsed = performance.now() - started;
    return elapsed < forMs || (limited === 0 && elapsed < atMostMs);
  };
  await Promise.all(
    Array.from({ length: 8 }, async (_, client) => {
      for (let i = client; goOn(); i++) {
        const reply = await send(urlFor(i));
        if (reply.status === 200) allowed++;
        else if (reply.status === 429) limited++;
        else throw new Error(`unexpected status ${reply.status}: ${reply.body}`);
      }
    }),
  );
  return { allowed, limited, seconds: (performance.now() - started) / 1000 };
}
