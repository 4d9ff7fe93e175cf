/**
 * Reading request bodies as Consul's Go decoder does: field names match case-insensitively,
 * durations are Go duration strings, and a field of the wrong type is a
 * {@link RegistrationError} the server answers with 400.
 */
import { parseDuration } from '../../duration.js';
import { isRecord } from '../../read-options.js';

/** A body Consul would refuse; the message is Consul's wording where it has one. */
export class RegistrationError extends Error {
  override readonly name = 'RegistrationError';
}

export type Json = Readonly<Record<string, unknown>>;

/** The field `name` of `object`, whatever the case of its key. */
export function field(object: Json, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
}

export function text(object: Json, name: string, fallback = ''): string {
  const value = field(object, name);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new RegistrationError(`${name} must be a string`);
  return value;
}

/** Milliseconds of a Go duration field; undefined when absent or empty. */
export function duration(object: Json, name: string): number | undefined {
  const value = field(object, name);
  if (value === undefined || value === null || value === '') return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new RegistrationError(`${name}: time: invalid duration ${JSON.stringify(value)}`);
  }
  return ms;
}

export function stringRecord(value: unknown, name: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new RegistrationError(`${name} must be an object of strings`);
  }
  return { ...(value as Record<string, string>) };
}

export function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new RegistrationError(`${name} must be a list of strings`);
  }
  return [...value];
}

/** An object field, or `{}` when absent. */
export function object(raw: Json, name: string): Json {
  const value = field(raw, name) ?? {};
  if (!isRecord(value)) throw new RegistrationError(`${name} must be an object`);
  return value;
}
