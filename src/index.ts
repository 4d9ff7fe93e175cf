/**
 * rxlb: client-side load balancing for Node.js gRPC clients, built from RxJS streams.
 *
 * Discovery (`consulInstances$`, with its `whenNobody` policy) → `diff()` → a policy
 * (`roundRobin()`, `leastRequest()`, `peakEwma()`, or your own with `policyOperator()`) →
 * `createBalancedChannel()`.
 */

export type { ConsulConnectionOptions, ConsulTlsOptions } from './consul/connection.js';
export { ConsulError, type ConsulErrorCode } from './consul/errors.js';
export type {
  FailoverOptions,
  FailoverStatus,
  WatchedDatacenter,
} from './consul/failover-options.js';
export type { SkippedEntry } from './consul/health.js';
export { consulInstances$ } from './consul/instances.js';
export type {
  BackoffOptions,
  ConsulFailure,
  ConsulInstancesOptions,
  ConsulNobodyOptions,
  ConsulStatus,
} from './consul/options.js';
export {
  type GrpcCheckOptions,
  type RegisteredInstance,
  type RegisterInstanceOptions,
  registerInstance,
} from './consul/register-instance.js';
export { sharedConsulInstances$ } from './consul/shared-instances.js';
export type { DiscoveryStatus } from './discovery.js';
export {
  type BackendStatus,
  type BalancedChannel,
  createBalancedChannel,
} from './grpc/balanced-channel.js';
export type { GrpcJsChannelModule } from './grpc/grpc-js-module.js';
export type { HealthEvent } from './grpc/health-watch.js';
export type {
  BalancedChannelOptions,
  HealthCheckOptions,
  OutlierDetectionOptions,
} from './grpc/options.js';
export type {
  EjectionClock,
  EjectionEvent,
  EjectionReason,
  UnejectReason,
} from './grpc/outlier-detection.js';
export {
  type RetryOnAnotherInstanceCallOptions,
  type RetryOnAnotherInstanceOptions,
  retryOnAnotherInstance,
} from './grpc/retry-on-another-instance.js';
export type { Address, Instance, InstanceSet, Update } from './instance.js';
export { chooseDatacenter } from './operators/choose-datacenter.js';
export { diff } from './operators/diff.js';
export type {
  ChooseDatacenterOptions,
  DatacenterChoice,
  DatacenterCount,
  DatacenterMode,
  DatacenterSet,
} from './operators/internal/datacenter-options.js';
export {
  InstanceSetError,
  type InstanceSetErrorCode,
} from './operators/internal/instance-set-error.js';
export type {
  FailFastOptions,
  FallbackOptions,
  KeepLastOptions,
  NobodyMode,
  NobodyPolicy,
  NobodyReport,
  PanicOptions,
  WhenNobodyOptions,
} from './operators/internal/nobody-options.js';
export { type LeastRequestOptions, leastRequest } from './operators/least-request.js';
export { type PeakEwmaOptions, peakEwma } from './operators/peak-ewma.js';
export { policyOperator } from './operators/policy-operator.js';
export { type RingHashOptions, ringHash } from './operators/ring-hash.js';
export { type RoundRobinOptions, roundRobin } from './operators/round-robin.js';
export { type SubsetOptions, subset } from './operators/subset.js';
export {
  type WeightedRoundRobinOptions,
  weightedRoundRobin,
} from './operators/weighted-round-robin.js';
export { whenNobody } from './operators/when-nobody.js';
export { type ZoneAwareOptions, zoneAware } from './operators/zone-aware.js';
export type { Backend, BackendHealth, Backends, Call, CallMetadata, Picker } from './picker.js';
export type { GrpcJsModule } from './resolver/consul-resolver.js';
export {
  type ConsulResolverOptions,
  registerConsulResolver,
} from './resolver/register-consul-resolver.js';
export {
  type LoadBalancingPoliciesOptions,
  registerLoadBalancingPolicies,
} from './service-config/register-load-balancing-policies.js';
export { METRICS } from './telemetry/instruments.js';
export type { MeterProviderLike } from './telemetry/meter.js';
