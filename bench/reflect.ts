/** `value[name]` of an object we only know as `unknown` (IPC messages, grpc-js internals). */
export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined;
}
