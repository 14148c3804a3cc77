/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and ranks where the CPU went: self time per function
 * and per module (a file of ours, a package, or Node's internals), as a share of the busy samples.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of CLOCK_MONOTONIC time in microseconds (`process.hrtime` / 1000, the clock V8 samples on). */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** Now on CLOCK_MONOTONIC in microseconds, the clock of V8's CPU profiles. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface HotSpot {
  name: string;
  percent: number;
  ms: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** Self time per function. */
  functions: HotSpot[];
  /** Self time per module. */
  modules: HotSpot[];
  /** Total (self + callees) time of the companion's own functions (dist/). */
  ownTotals: HotSpot[];
  /** Total (self + callees) time per module: where a package's work leads, Node's internals included. */
  moduleTotals: HotSpot[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function shortUrl(url: string): string {
  if (url === '') return '';
  let path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(ROOT)) path = path.slice(ROOT.length);
  const nm = path.lastIndexOf('node_modules/');
  return nm >= 0 ? path.slice(nm) : path;
}

function moduleOf(url: string): string {
  const path = shortUrl(url);
  if (path === '') return '(native / V8)';
  if (path.startsWith('node:')) return 'node: internals';
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  return path.startsWith('dist/') ? path.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts') : path;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

const sourceMaps = new Map<string, SourceMap | null>();

/** The compiled file's own source map, to name `src/….ts` lines instead of `dist/….js` ones. */
function sourceMapOf(path: string): SourceMap | null {
  let map = sourceMaps.get(path);
  if (map === undefined) {
    const file = `${path}.map`;
    map = existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null;
    sourceMaps.set(path, map);
  }
  return map;
}

function frameName(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const fn = frame.functionName || '(anonymous)';
  const path = shortUrl(frame.url);
  if (path.startsWith('dist/')) {
    const absolute = resolve(ROOT, path);
    const entry = sourceMapOf(absolute)?.findEntry(frame.lineNumber, frame.columnNumber) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : resolve(dirname(absolute), entry.originalSource);
      return `${relative(ROOT, source)}:${fn}:${entry.originalLine + 1}`;
    }
  }
  return `${path || '(native)'}:${fn}:${frame.lineNumber + 1}`;
}

/** Ranks the samples of `file`, only those taken inside `window` (or any of several) when given. */
export function summariseProfile(
  file: string,
  top = 15,
  window?: ProfileWindow | ProfileWindow[],
): ProfileSummary {
  const windows = window === undefined ? undefined : Array.isArray(window) ? window : [window];
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  const ownTotals = new Map<string, number>();
  const moduleTotals = new Map<string, number>();
  const add = (m: Map<string, number>, key: string, us: number) => m.set(key, (m.get(key) ?? 0) + us);
  let idle = 0;
  let busy = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    // Each delta is the time until the sample it precedes; attribute it to that sample's node.
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    t += us;
    if (windows && !windows.some((w) => t >= w.fromUs && t <= w.toUs)) return;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    if (frame.functionName === '(idle)') {
      idle += us;
      return;
    }
    busy += us;
    add(functions, frameName(frame), us);
    add(modules, SPECIAL.has(frame.functionName) ? frame.functionName : moduleOf(frame.url), us);
    const seen = new Set<string>();
    const seenModules = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const f = byId.get(node)?.callFrame;
      if (!f) continue;
      const module = SPECIAL.has(f.functionName) ? f.functionName : moduleOf(f.url);
      if (module !== '(root)' && !seenModules.has(module)) {
        seenModules.add(module);
        add(moduleTotals, module, us);
      }
      if (!shortUrl(f.url).startsWith('dist/')) continue;
      const name = frameName(f);
      if (seen.has(name)) continue;
      seen.add(name);
      add(ownTotals, name, us);
    }
  });
  const rank = (m: Map<string, number>): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: busy ? (100 * us) / busy : 0 }));
  return {
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    functions: rank(functions),
    modules: rank(modules),
    ownTotals: rank(ownTotals),
    moduleTotals: rank(moduleTotals),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [
    `CPU profile: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle`,
    '',
    'Top functions (self time):',
  ];
  for (const h of summary.functions) lines.push(`  ${h.percent.toFixed(1).padStart(5)}%  ${h.name}`);
  lines.push('', 'By module (self time):');
  for (const h of summary.modules) lines.push(`  ${h.percent.toFixed(1).padStart(5)}%  ${h.name}`);
  lines.push('', 'By module (total time, callees included):');
  for (const h of summary.moduleTotals) lines.push(`  ${h.percent.toFixed(1).padStart(5)}%  ${h.name}`);
  if (summary.ownTotals.length > 0) {
    lines.push('', 'Companion functions (total time, callees included):');
    for (const h of summary.ownTotals) lines.push(`  ${h.percent.toFixed(1).padStart(5)}%  ${h.name}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summariseProfile(file, top ? Number(top) : 25))}\n`);
}
