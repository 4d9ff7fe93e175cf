/**
 * Counts the JavaScript objects alive on the heap, from a V8 heap snapshot (which collects
 * garbage first). Unlike `heapUsed`, the count leaves out what V8 compiles and optimizes as
 * the program warms up (code, deoptimization data, feedback), so that growth in it means
 * objects the program keeps, i.e. a leak.
 *
 * The snapshot is JSON: `{"snapshot":{"meta":…},"nodes":[…],"edges":[…],"strings":[…]}`, tens
 * of megabytes. Only `meta` and `nodes` are needed, so they are read from the stream as it
 * comes and the rest is never parsed.
 */
import { getHeapSnapshot } from 'node:v8';
import { field } from './reflect.js';

/** Node types of a snapshot that are program data rather than V8's own machinery. */
const DATA_TYPES = new Set([
  'object',
  'closure',
  'array',
  'string',
  'concatenated string',
  'sliced string',
  'number',
  'regexp',
  'bigint',
]);

const NODES = '"nodes":[';

export interface HeapObjects {
  readonly count: number;
  /** Their shallow sizes, summed. */
  readonly bytes: number;
}

function strings(value: unknown): readonly string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
}

/** Reads `meta` from the text before `"nodes":[`: which field is which, and type names. */
function readMeta(head: string) {
  const snapshot = field(JSON.parse(`${head}}`), 'snapshot');
  const meta = field(snapshot, 'meta');
  const fields = strings(field(meta, 'node_fields'));
  const types = field(meta, 'node_types');
  const typeNames = strings(Array.isArray(types) ? types[0] : undefined);
  const typeAt = fields.indexOf('type');
  const sizeAt = fields.indexOf('self_size');
  if (typeAt < 0 || sizeAt < 0) throw new Error('unexpected heap snapshot format');
  const isData = typeNames.map((name) => DATA_TYPES.has(name));
  return { width: fields.length, typeAt, sizeAt, isData };
}

export async function countHeapObjects(): Promise<HeapObjects> {
  const stream = getHeapSnapshot();
  let head = '';
  let meta: ReturnType<typeof readMeta> | undefined;
  let count = 0;
  let bytes = 0;
  let value = 0; // the number being read
  let position = 0; // index of that number in `nodes`
  let isData = false;
  let digits = false; // whether `value` has digits yet
  for await (const chunk of stream) {
    let text = String(chunk);
    if (!meta) {
      head += text;
      const at = head.indexOf(NODES);
      if (at < 0) continue;
      // Not a RegExp: V8 keeps the last RegExp subject alive, and this one is megabytes long.
      let end = at;
      while (end > 0 && ', \n\r\t'.includes(head.charAt(end - 1))) end -= 1;
      meta = readMeta(head.slice(0, end));
      text = head.slice(at + NODES.length);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        value = value * 10 + (c - 48);
        digits = true;
        continue;
      }
      if (digits) {
        const column = position % meta.width;
        if (column === meta.typeAt) isData = meta.isData[value] ?? false;
        if (column === meta.sizeAt && isData) {
          count += 1;
          bytes += value;
        }
        position += 1;
        value = 0;
        digits = false;
      }
      if (c === 93) {
        // ']': the end of "nodes"; edges and strings are not needed
        stream.destroy();
        return { count, bytes };
      }
    }
  }
  throw new Error('heap snapshot ended inside "nodes"');
}
