/**
 * rxlb: client-side load balancing for Node.js gRPC clients, built from RxJS streams.
 *
 * Discovery (`consulInstances$`) → `diff()` → `roundRobin()` → `createBalancedChannel()`.
 */
export type { Address, Instance, InstanceSet, Update } from './instance.js';
export type { Picker } from './picker.js';
