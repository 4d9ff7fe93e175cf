/**
 * `rxlb/testing`: what tests, examples and demos need to run rxlb without a real Consul.
 */
export type { Address, Instance } from '../instance.js';
export {
  ConsulTestServer,
  type ConsulTestServerOptions,
  type RecordedRequest,
} from './consul-test-server.js';
export type { Fault, FaultScope } from './http/faults.js';
export type { ConsulTestServerTls } from './http/listener.js';
export type {
  CheckDefinition,
  CheckStatus,
  ServiceAddress,
  ServiceDefinition,
} from './model/registration.js';
