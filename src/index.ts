// weir as a library: start a load balancer inside your own Node.js program.
export { startWeir, type Weir, type WeirOptions } from './weir.ts';
export { loadConfigFile, loadConfigObject, loadConfigText } from './config/load.ts';
export { ConfigError, type ConfigIssue, type WeirConfig } from './config/types.ts';
export { planRequest, type ClientRequest, type RequestPlan } from './runtime/plan-request.ts';
