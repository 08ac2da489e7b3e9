import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Address } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { startWeir, type Weir } from '../weir.ts';

const OUTAGE_MS = 20_000;

/** A small backend for the demo that can be told to go down for a while. */
class DemoBackend {
  readonly number: number;
  port = 0;
  #server: http.Server | undefined;
  #restart: NodeJS.Timeout | undefined;

  constructor(number: number) {
    this.number = number;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      if (req.url === '/healthcheck') {
        res.end('ok\n');
      } else if (req.url === '/stop') {
        res.end(`demo backend ${this.number} (127.0.0.1:${this.port}) stops for ${OUTAGE_MS / 1000} s\n`);
        setImmediate(() => this.#outage());
      } else {
        res.end(`Hello from demo backend ${this.number} (127.0.0.1:${this.port}), you asked for ${req.method} ${req.url}\n`);
      }
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  #outage(): void {
    void this.stop().then(() => {
      this.#restart = setTimeout(() => void this.start(), OUTAGE_MS);
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.#restart);
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface Demo {
  weir: Weir;
  backends: readonly DemoBackend[];
  /** What to print for the person who ran `npm start`. */
  instructions: string;
  close(): Promise<void>;
}

/** weir in front of three demo backends it starts itself: what `npm start` runs without a config file. */
export async function startDemo(listen: Address, logger?: Logger | false): Promise<Demo> {
  const backends = [new DemoBackend(1), new DemoBackend(2), new DemoBackend(3)];
  await Promise.all(backends.map((backend) => backend.start()));
  let weir: Weir;
  try {
    weir = await startWeir({
      listen,
      logger,
      config: {
        routes: [{ name: 'demo', path: '/', service: 'demo' }],
        services: {
          demo: {
            servers: backends.map((backend) => `127.0.0.1:${backend.port}`),
            balance: 'round_robin',
            health_check: { path: '/healthcheck', interval: '1s', timeout: '500ms', healthy_threshold: 1, unhealthy_threshold: 1 },
          },
        },
      },
    });
  } catch (error) {
    await Promise.all(backends.map((backend) => backend.stop()));
    throw error;
  }
  const url = weir.url;
  const instructions = [
    `weir demo: ${url} in front of ${backends.length} demo backends (${backends.map((b) => `127.0.0.1:${b.port}`).join(', ')})`,
    '',
    'Try:',
    `  curl ${url}/hello        a few times: each answer comes from the next backend`,
    `  curl ${url}/stop         the backend that answers stops for ${OUTAGE_MS / 1000} s`,
    `  curl ${url}/hello        weir routes around it within a second, then takes it back`,
    '',
    'weir logs each backend going down and up on stderr. Ctrl-C stops weir and the demo backends.',
  ].join('\n');
  return {
    weir,
    backends,
    instructions,
    async close() {
      await weir.close();
      await Promise.all(backends.map((backend) => backend.stop()));
    },
  };
}
