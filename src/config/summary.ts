import { formatAddress } from './address.ts';
import type { WeirConfig } from './types.ts';

/** One line for `weir validate`: "valid weir config: 3 routes, 3 services, 7 servers, listen 127.0.0.1:8080". */
export function summarizeConfig(config: WeirConfig): string {
  const servers = [...config.services.values()].reduce((total, service) => total + service.servers.length, 0);
  const form = config.form === 'course' ? 'config (course form)' : 'weir config';
  const counts = [count(config.routes.length, 'route'), count(config.services.size, 'service'), count(servers, 'server')];
  return `valid ${form}: ${counts.join(', ')}, listen ${formatAddress(config.listen)}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
