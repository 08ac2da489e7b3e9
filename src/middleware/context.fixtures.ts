import type { RequestContext } from './types.ts';

/** A request context for unit tests: GET / from 127.0.0.1, with whatever the test sets. */
export function contextFor(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    clientIp: '127.0.0.1',
    remoteAddr: '127.0.0.1',
    host: 'example.com',
    normalizedPath: '/',
    path: '/',
    query: '',
    method: 'GET',
    scheme: 'http',
    requestId: 'req-1',
    routeName: 'test route',
    rawHeaders: [],
    contentLength: undefined,
    ...overrides,
  };
}
