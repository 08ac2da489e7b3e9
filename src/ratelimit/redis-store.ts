// Only a type: ioredis itself is loaded when the first Redis store is configured
// (RedisConnection), so a weir without one never loads it.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { LocalBucketStore } from './local-store.ts';
import type { Decision } from './token-bucket.ts';

/** What Redis decided for one request. */
export interface RedisDecision extends Decision {
  readonly remaining: number;
}

/**
 * Slow answers are worse than no answers: a request waits for the limiter,
 * so a Redis that is slow or gone must cost at most this much before weir
 * decides from its local buckets.
 */
export const REDIS_TIMEOUT_MS = 250;
/** Reconnection attempts back off exponentially up to this delay. */
const RECONNECT_MAX_DELAY_MS = 1_000;
/**
 * After a command failed on a connection that still looks open (a Redis that
 * hangs, or answers errors), only one request per interval tries Redis again;
 * the others are decided locally at once instead of each waiting for the timeout.
 */
const PROBE_INTERVAL_MS = 1_000;

/**
 * The token bucket of token-bucket.ts, run atomically inside Redis.
 *
 * The clock is Redis's own (TIME), so weir instances whose clocks disagree
 * still share one bucket correctly. The hash holds tokens and the time they
 * were counted (ms); it expires when it would be full again, since a full
 * bucket is the same as a missing one. A refused request changes nothing,
 * so it writes nothing. Returns {allowed 0|1, whole tokens left, ms until
 * one token}.
 */
const TAKE_TOKEN_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(stored[1])
local ts = tonumber(stored[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
if tokens < 1 - 1e-9 then
  return {0, 0, math.ceil((1 - tokens) * 1000 / rate)}
end
tokens = math.max(0, tokens - 1)
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', ts)
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) * 1000 / rate)))
return {1, math.floor(tokens + 1e-9), 0}
`;

interface TakeTokenCommand {
  weirTakeToken(key: string, ratePerSecond: number, burst: number): Promise<[number, number, number]>;
}

type ConnectionState = 'starting' | 'up' | 'down' | 'closed';

/**
 * One Redis client, shared by every limit that names the same URL, and
 * whether Redis is reachable. Going down is logged once with warn and coming
 * back once with info, whatever the number of requests in between.
 */
export class RedisConnection {
  readonly url: string;
  readonly #label: string;
  /** undefined until ioredis is loaded, and for good if it cannot be. */
  #client: (Redis & TakeTokenCommand) | undefined;
  readonly #log: Logger;
  #state: ConnectionState = 'starting';
  readonly #started: Promise<void>;
  #resolveStarted: () => void = () => undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #probeAt = 0;

  /** `connect: false` makes one that never connects, closed from the start: for a process that only compiles configs (a worker group's primary). */
  constructor(url: string, log: Logger, options: { connect?: boolean } = {}) {
    this.url = url;
    this.#label = redactUrl(url);
    this.#log = log;
    this.#started = new Promise<void>((resolve) => (this.#resolveStarted = resolve));
    if (options.connect === false) this.#settle('closed');
    else void this.#open();
  }

  /** Loads ioredis (once per process: later imports are the cached module) and connects. */
  async #open(): Promise<void> {
    let RedisClient: typeof Redis;
    try {
      ({ Redis: RedisClient } = await import('ioredis'));
    } catch (error) {
      this.#markDown(`cannot load ioredis: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    // Closed while ioredis was loading: never connect.
    if (this.#state === 'closed') return;
    const client = new RedisClient(this.url, {
      // Every command fails at once while disconnected, rather than queueing
      // requests behind a Redis that may not come back soon.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: REDIS_TIMEOUT_MS,
      commandTimeout: REDIS_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, RECONNECT_MAX_DELAY_MS),
      // RESP2 replies are the same from every Redis version and Redis-compatible server.
      protocol: 2,
    }) as Redis & TakeTokenCommand;
    client.defineCommand('weirTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN_LUA });
    // An 'error' without a listener would be thrown into the event loop.
    client.on('error', (error: Error) => this.#markDown(error.message));
    client.on('ready', () => this.#markUp());
    this.#client = client;
    // Requests that arrive before the first connection has settled wait for
    // it (bounded), so that a weir that just started neither falls back nor
    // logs Redis as down for the few milliseconds a connection takes.
    this.#startTimer = setTimeout(() => this.#markDown(`no connection within ${2 * REDIS_TIMEOUT_MS}ms`), 2 * REDIS_TIMEOUT_MS);
    this.#startTimer.unref();
  }

  /**
   * Takes a token from the bucket `key` in Redis. undefined, now or later:
   * Redis could not decide (unreachable, too slow, or an error), and the
   * caller applies its on_store_error policy.
   */
  take(key: string, ratePerSecond: number, burst: number): Promise<RedisDecision | undefined> | undefined {
    if (this.#state === 'starting') return this.#started.then(() => this.take(key, ratePerSecond, burst));
    if (this.#state === 'closed') return undefined;
    const client = this.#client;
    if (client?.status !== 'ready') {
      this.#markDown(`not connected: ${client?.status ?? 'ioredis not loaded'}`);
      return undefined;
    }
    if (this.#state === 'down') {
      const now = performance.now();
      if (now < this.#probeAt) return undefined;
      this.#probeAt = now + PROBE_INTERVAL_MS;
    }
    return client.weirTakeToken(key, ratePerSecond, burst).then(
      ([allowed, remaining, retryAfterMs]) => {
        this.#markUp();
        return { allowed: allowed === 1, remaining, retryAfterMs };
      },
      (error: Error) => {
        this.#markDown(error.message);
        return undefined;
      },
    );
  }

  /** Closes the client for good; later take() calls answer undefined at once. */
  async close(): Promise<void> {
    this.#settle('closed');
    const client = this.#client;
    if (!client) return;
    try {
      await client.quit();
    } catch {
      // Not connected (or QUIT timed out): stop the reconnection attempts instead.
      client.disconnect();
    }
  }

  #markDown(reason: string): void {
    if (this.#state === 'down' || this.#state === 'closed') return;
    this.#probeAt = performance.now() + PROBE_INTERVAL_MS;
    this.#settle('down');
    this.#log.warn(
      { redis: this.#label, reason },
      `rate limit store ${this.#label} is unreachable (${reason}): each weir instance applies the limits that use it on its own (503 where on_store_error is deny) until it is back`,
    );
  }

  #markUp(): void {
    if (this.#state === 'up' || this.#state === 'closed') return;
    const wasDown = this.#state === 'down';
    this.#settle('up');
    if (wasDown) this.#log.info({ redis: this.#label }, `rate limit store ${this.#label} is reachable again: limits are shared again`);
  }

  #settle(state: ConnectionState): void {
    this.#state = state;
    clearTimeout(this.#startTimer);
    this.#resolveStarted();
  }
}

/** The buckets of one limit in Redis, under `weir:rl:<limit id>:`. */
export class RedisBucketStore {
  readonly connection: RedisConnection;
  /** The same limit's buckets in this process, for when Redis cannot decide and on_store_error is allow. */
  readonly fallback: LocalBucketStore;
  readonly #prefix: string;

  constructor(connection: RedisConnection, limitId: string, fallback: LocalBucketStore) {
    this.connection = connection;
    this.fallback = fallback;
    this.#prefix = `weir:rl:${limitId}:`;
  }

  /** See RedisConnection.take: undefined means Redis could not decide. */
  take(key: string): Promise<RedisDecision | undefined> | undefined {
    return this.connection.take(this.#prefix + key, this.fallback.ratePerSecond, this.fallback.burst);
  }
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<redis url>';
  }
}
