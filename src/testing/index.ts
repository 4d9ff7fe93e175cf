/**
 * `rxlb/testing`: what tests, examples and demos need to run rxlb without a real Consul.
 */
export type { Address, Instance } from '../instance.js';
