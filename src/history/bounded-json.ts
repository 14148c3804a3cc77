/**
 * Keeps the JSON a history record holds within what the writer can copy and store.
 * Copying a record to the writer thread (structured clone) and storing it
 * (JSON.stringify) both recurse once per nesting level and overflow the stack at a few
 * thousand levels, which a client can send in 10 KB; JSON.parse, which read the body,
 * does not. So a value nested deeper than `MAX_STORED_DEPTH` has its deeper parts
 * replaced by a note saying what was left out, and the rest is kept as it was.
 *
 * Invariant: every walk here is iterative, so how deep the input is never decides how
 * deep the stack gets.
 */

/** Nesting kept in history; requests and tool schemas real clients send stay far below it. */
export const MAX_STORED_DEPTH = 64;

export interface BoundedJson {
  /** The value itself when it was within bounds (no copy), else a copy with deep parts replaced. */
  value: unknown;
  /** True when something was left out. */
  summarised: boolean;
  /** About how many bytes the value holds in memory (strings by length, plus a little per value). */
  bytes: number;
}

export interface BoundOptions {
  maxDepth?: number;
  /** A replacement for a string (a summary of a large binary payload), or undefined to keep it. */
  replaceString?: (text: string) => string | undefined;
}

const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** Measures a value: its size, and whether anything must change (too deep, a string to replace). */
function measure(value: unknown, maxDepth: number, replace: BoundOptions['replaceString']) {
  let bytes = 0;
  let change = false;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (typeof current === 'string') {
      bytes += current.length + 8;
      if (replace && !change && replace(current) !== undefined) change = true;
      continue;
    }
    if (!isContainer(current)) {
      bytes += 8;
      continue;
    }
    bytes += 16;
    // Deeper parts are still walked: their size counts toward the record's.
    if (depth >= maxDepth) change = true;
    if (Array.isArray(current)) {
      for (const item of current) {
        values.push(item);
        depths.push(depth + 1);
      }
    } else {
      for (const key of Object.keys(current)) {
        bytes += key.length + 8;
        values.push((current as Record<string, unknown>)[key]);
        depths.push(depth + 1);
      }
    }
  }
  return { bytes, change };
}

/** How many levels a value spans (1 for a flat array or object). */
function levels(value: unknown): number {
  let deepest = 0;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (!isContainer(current)) continue;
    if (depth > deepest) deepest = depth;
    for (const inner of Array.isArray(current) ? current : Object.values(current)) {
      if (!isContainer(inner)) continue;
      values.push(inner);
      depths.push(depth + 1);
    }
  }
  return deepest;
}

type Slot = Record<string, unknown> | unknown[];

function put(into: Slot, key: string | number, value: unknown): void {
  if (Array.isArray(into)) into[key as number] = value;
  // A `__proto__` key from JSON.parse is an own property; plain assignment would set the prototype.
  else if (key === '__proto__')
    Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key as string] = value;
}

/** A copy of `value` with containers at depth `maxDepth` replaced by a note and strings replaced. */
function copyBounded(value: unknown, maxDepth: number, replace: BoundOptions['replaceString']): unknown {
  const root: Slot = [undefined];
  const tasks: { value: unknown; into: Slot; key: string | number; depth: number }[] = [
    { value, into: root, key: 0, depth: 0 },
  ];
  while (tasks.length > 0) {
    const { value: current, into, key, depth } = tasks.pop()!;
    if (typeof current === 'string') {
      put(into, key, replace?.(current) ?? current);
    } else if (!isContainer(current)) {
      put(into, key, current);
    } else if (depth >= maxDepth) {
      put(
        into,
        key,
        `[left out of history: nested deeper than ${maxDepth} levels (${depth + levels(current)} in all)]`,
      );
    } else if (Array.isArray(current)) {
      const out: unknown[] = new Array(current.length);
      put(into, key, out);
      for (let i = 0; i < current.length; i++)
        tasks.push({ value: current[i], into: out, key: i, depth: depth + 1 });
    } else {
      const out: Record<string, unknown> = {};
      put(into, key, out);
      const keys = Object.keys(current);
      // Keys are set in their order first, so filling them in any order keeps it.
      for (const name of keys) put(out, name, null);
      for (const name of keys)
        tasks.push({
          value: (current as Record<string, unknown>)[name],
          into: out,
          key: name,
          depth: depth + 1,
        });
    }
  }
  return root[0];
}

/**
 * The value within `maxDepth` levels (and with strings replaced as asked), and about how
 * much memory it holds. A value that needs no change is returned itself, not copied.
 */
export function boundJson(value: unknown, options: BoundOptions = {}): BoundedJson {
  const maxDepth = options.maxDepth ?? MAX_STORED_DEPTH;
  const { bytes, change } = measure(value, maxDepth, options.replaceString);
  if (!change) return { value, summarised: false, bytes };
  return { value: copyBounded(value, maxDepth, options.replaceString), summarised: true, bytes };
}
