import type { RouteConfig, TimeoutsConfig, WeirConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { compileFirewall } from '../middleware/firewall.ts';
import { compileQuery } from '../middleware/query.ts';
import { compileRequestHeaders } from '../middleware/request-headers.ts';
import { compileRewrite } from '../middleware/rewrite.ts';
import { compileStripPrefix } from '../middleware/strip-prefix.ts';
import type { FirewallCheck, RequestStep } from '../middleware/types.ts';
import { createRouter, type Router } from '../routing/router.ts';
import { Backend } from '../upstream/backend.ts';
import type { BackendRegistry } from '../upstream/registry.ts';
import { Service } from '../upstream/service.ts';

/** A route ready for the hot path: its checks and steps compiled, its service resolved. */
export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly service: Service;
  readonly firewall: FirewallCheck | undefined;
  /** In order: strip prefix, rewrite, query, request headers. */
  readonly steps: readonly RequestStep[];
  /**
   * True when a step changes the path: those steps work on the normalized
   * path, so what they match is what the firewall saw. Otherwise the client's
   * path is forwarded with its own encoding.
   */
  readonly rewritesPath: boolean;
  /** The service's timeouts with the route's own over them. */
  readonly timeouts: TimeoutsConfig;
}

/** Everything one config compiles into. Immutable; a reload builds a new one and swaps the reference. */
export interface Runtime {
  readonly config: WeirConfig;
  readonly router: Router<CompiledRoute>;
  readonly services: ReadonlyMap<string, Service>;
}

export function compileRuntime(config: WeirConfig, registry: BackendRegistry, log: Logger): Runtime {
  const services = new Map<string, Service>();
  for (const [name, serviceConfig] of config.services) {
    const backends = serviceConfig.servers.map((server) => {
      const backend = registry.get(name, server.address);
      backend.weight = server.weight;
      backend.backup = server.backup;
      backend.slowStartMs = serviceConfig.slowStartMs;
      return backend;
    });
    services.set(name, new Service(serviceConfig, backends, log));
    Backend.touch();
  }
  const routes = config.routes.map((route) => compileRoute(route, services));
  const router = createRouter(
    routes.map((route) => ({ host: route.config.host, path: route.config.path, methods: route.config.methods, value: route })),
  );
  const inUse = new Set<Backend>();
  for (const service of services.values()) for (const backend of service.backends) inUse.add(backend);
  registry.retain(inUse);
  return { config, router, services };
}

function compileRoute(route: RouteConfig, services: ReadonlyMap<string, Service>): CompiledRoute {
  const service = services.get(route.service);
  // The loader has already checked that every route names a service.
  if (!service) throw new Error(`route ${route.name}: unknown service ${route.service}`);
  const pathSteps = [compileStripPrefix(route.stripPrefix), compileRewrite(route.rewrite)].filter(isStep);
  const otherSteps = [compileQuery(route.query), compileRequestHeaders(route.requestHeaders)].filter(isStep);
  return {
    name: route.name,
    config: route,
    service,
    firewall: compileFirewall(route.firewall),
    steps: [...pathSteps, ...otherSteps],
    rewritesPath: pathSteps.length > 0,
    timeouts: { ...service.config.timeouts, ...route.timeouts },
  };
}

function isStep(step: RequestStep | undefined): step is RequestStep {
  return step !== undefined;
}
