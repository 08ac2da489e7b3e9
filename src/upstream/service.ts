import type { ServiceConfig } from '../config/types.ts';
import type { Backend } from './backend.ts';
import { balancers, type Balancer } from './balancers/index.ts';

/** A named pool of backends and the algorithm that picks among them. Built anew on every reload; its backends are not. */
export class Service {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly backends: readonly Backend[];
  readonly #balancer: Balancer;

  constructor(config: ServiceConfig, backends: readonly Backend[]) {
    this.name = config.name;
    this.config = config;
    this.backends = backends;
    this.#balancer = balancers[config.balance]();
  }

  /** The backend for the next request, or undefined when none is available. */
  pick(): Backend | undefined {
    return this.#balancer.pick(this.backends);
  }
}
