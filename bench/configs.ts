// Configuration files for the backends and the load balancers. Every load
// balancer gets the same shape: one process, round robin over the same
// upstream servers, keep-alive on both sides, no access log, request bodies
// streamed rather than buffered. The workers scenario (bench/workers.ts) asks
// for two nginx worker processes or two HAProxy threads instead of one; the
// TLS scenario (bench/tls.ts) for the same configs terminating TLS.

export interface Upstream {
  host: string;
  port: number;
}

/** The TLS scenario's certificate: one EC P-256 key and its chain, in the forms each load balancer reads. */
export interface TlsFiles {
  /** PEM chain, leaf first. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** The chain followed by the key in one file: HAProxy's `crt`. */
  combined: string;
}

const addr = (u: Upstream): string => `${u.host}:${u.port}`;

/**
 * nginx 1.25.1 replaced `listen ... http2` with the `http2` directive (the old
 * form still works there, with a warning); Debian 12 ships 1.22.
 */
export function nginxHasHttp2Directive(version: string): boolean {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = m.slice(1).map(Number) as [number, number, number];
  return major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 1)));
}

/** The `listen` line, and the TLS directives, of an nginx server terminating TLS with HTTP/2 offered by ALPN. */
function nginxTlsServer(port: number, tls: TlsFiles, http2Directive: boolean): string {
  return `    listen 127.0.0.1:${port} ssl${http2Directive ? '' : ' http2'};
${http2Directive ? '    http2 on;\n' : ''}    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    # nginx before 1.23.4 leaves TLSv1.3 out by default; HAProxy and Node offer 1.2 and 1.3.
    ssl_protocols TLSv1.2 TLSv1.3;
`;
}

/** Directives every nginx instance here needs to live entirely inside its temp prefix. */
function nginxCommon(prefix: string, workers = 1): string {
  // As root the workers would otherwise switch to "nobody", which cannot use the
  // 0700 temp prefix; elsewhere the directive would only produce a warning.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes ${workers};
worker_rlimit_nofile 65535;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events {
  worker_connections 8192;
}
`;
}

function nginxHttpCommon(prefix: string): string {
  return `  access_log off;
  client_body_temp_path ${prefix}/client_body_temp;
  proxy_temp_path ${prefix}/proxy_temp;
  fastcgi_temp_path ${prefix}/fastcgi_temp;
  uwsgi_temp_path ${prefix}/uwsgi_temp;
  scgi_temp_path ${prefix}/scgi_temp;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
`;
}

/** One nginx process answering a short fixed body on each port ("hello from backend N"). */
export function backendNginxConf(prefix: string, ports: number[]): string {
  const servers = ports
    .map(
      (port, i) => `  server {
    listen 127.0.0.1:${port};
    location / {
      return 200 "hello from backend ${i + 1}\\n";
    }
  }
`,
    )
    .join('');
  return `${nginxCommon(prefix)}http {
${nginxHttpCommon(prefix)}  default_type text/plain;
${servers}}
`;
}

/**
 * `workers`: nginx's `worker_processes` (1 but in the workers scenario).
 * `tls`: terminate TLS (HTTP/1.1 and HTTP/2) instead of plain HTTP; nginx's
 * version decides how HTTP/2 is switched on.
 */
export function nginxLbConf(
  prefix: string,
  port: number,
  upstreams: Upstream[],
  workers = 1,
  tls?: { files: TlsFiles; nginxVersion: string },
): string {
  const servers = upstreams.map((u) => `    server ${addr(u)};\n`).join('');
  const listen = tls
    ? nginxTlsServer(port, tls.files, nginxHasHttp2Directive(tls.nginxVersion))
    : `    listen 127.0.0.1:${port};\n`;
  return `${nginxCommon(prefix, workers)}http {
${nginxHttpCommon(prefix)}  upstream app {
${servers}    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
${listen}    client_max_body_size 0;
    proxy_request_buffering off;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
`;
}

/**
 * One HAProxy process, `threads` threads (1 but in the workers scenario), round robin over
 * `upstreams` with connection reuse; `defaults` and `backend` add lines to those sections;
 * `tls` terminates TLS on the frontend, HTTP/2 and HTTP/1.1 offered by ALPN.
 */
function haproxyConfig(
  port: number,
  upstreams: Upstream[],
  extra: { defaults: string[]; backend: string[] },
  threads = 1,
  tls?: TlsFiles,
): string {
  const lines = (more: string[]) => more.map((line) => `  ${line}\n`).join('');
  const servers = upstreams.map((u, i) => `  server b${i + 1} ${addr(u)}\n`).join('');
  return `global
  nbthread ${threads}
  maxconn 4096

defaults
  mode http
  option http-keep-alive
${lines(extra.defaults)}  timeout http-keep-alive 65s
  timeout http-request 30s

frontend fe
  bind 127.0.0.1:${port}${tls ? ` ssl crt ${tls.combined} alpn h2,http/1.1` : ''}
  default_backend app

backend app
  balance roundrobin
  http-reuse always
${lines(extra.backend)}${servers}`;
}

/** `threads`: HAProxy's `nbthread` (1 but in the workers scenario); `tls`: terminate TLS. */
export function haproxyCfg(port: number, upstreams: Upstream[], threads = 1, tls?: TlsFiles): string {
  return haproxyConfig(
    port,
    upstreams,
    {
      defaults: ['timeout connect 5s', 'timeout client 300s', 'timeout server 300s'],
      backend: [],
    },
    threads,
    tls,
  );
}

/** weir's routes and services of the throughput tables: everything but the listener. */
function weirRoutes(upstreams: Upstream[]): string {
  return `routes:
  - path: /
    service: app
services:
  app:
    balance: round_robin
    servers: [${upstreams.map(addr).join(', ')}]
`;
}

/** weir's own YAML form. */
export function weirYaml(port: number, upstreams: Upstream[]): string {
  return `listen: 127.0.0.1:${port}
${weirRoutes(upstreams)}`;
}

/** The same weir terminating TLS; HTTP/2 is on by default on a TLS listener. */
export function weirTlsYaml(port: number, upstreams: Upstream[], tls: TlsFiles): string {
  // JSON strings are YAML flow scalars: a path needs no further quoting.
  return `listeners:
  - address: 127.0.0.1:${port}
    tls:
      certificates:
        - { cert: ${JSON.stringify(tls.cert)}, key: ${JSON.stringify(tls.key)} }
${weirRoutes(upstreams)}`;
}

// --- Backend failure under load -------------------------------------------
// Each load balancer configured for failover the way its manual recommends for
// production, in front of three backends. See "Backend failure under load" in
// bench/README.md for why each setting.

/** nginx (open source: passive checks only): mark a failed server down for 2 s, retry the request on the next. */
export function faultNginxLbConf(prefix: string, port: number, upstreams: Upstream[]): string {
  const servers = upstreams.map((u) => `    server ${addr(u)} max_fails=1 fail_timeout=2s;\n`).join('');
  return `${nginxCommon(prefix)}http {
${nginxHttpCommon(prefix)}  upstream app {
${servers}    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 1s;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
    }
  }
}
`;
}

/** HAProxy: active HTTP checks every 500 ms, layer-7 retries, redispatch of the last retry to another server. */
export function faultHaproxyCfg(port: number, upstreams: Upstream[]): string {
  return haproxyConfig(port, upstreams, {
    defaults: [
      'option redispatch',
      'retries 2',
      'retry-on conn-failure empty-response response-timeout 502 503',
      'timeout connect 1s',
      'timeout client 30s',
      'timeout server 30s',
      'default-server check inter 500ms fall 2 rise 2',
    ],
    backend: ['option httpchk GET /healthcheck', 'http-check expect status 200'],
  });
}

/** weir: active checks, passive ejection, slow start, retries on another server, 1 s connect timeout. */
export function faultWeirYaml(port: number, upstreams: Upstream[]): string {
  return `listen: 127.0.0.1:${port}
routes:
  - path: /
    service: app
services:
  app:
    balance: round_robin
    servers: [${upstreams.map(addr).join(', ')}]
    health_check: { path: /healthcheck, interval: 500ms, timeout: 250ms, healthy_threshold: 2, unhealthy_threshold: 2 }
    passive_health: { consecutive_failures: 3, base_ejection: 2s, max_ejected_percent: 50 }
    slow_start: 2s
    retries: { attempts: 2 }
    timeouts: { connect: 1s }
`;
}
