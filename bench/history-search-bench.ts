/**
 * History search at scale: fills a temporary database with 1,000,000 realistic records
 * (varied prompts and answers over 90 days, many tokens and models, multi-turn chats,
 * errors and refusals) through the history repository, then measures what an admin
 * waits for: the first page of a full-text search (as the API builds it, previews and
 * snippets included) for varied words, and the dashboard's usage queries.
 * Targets: full-text p95 < 100 ms, usage < 200 ms.
 *
 * Alone: `node --import tsx bench/history-search-bench.ts [--records N] [--keep]`
 * From bench/run.ts: `const figures = await benchHistorySearch()`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { historyPage } from '../src/admin/history-listing.js';
import type { HistoryEnd, HistoryStart } from '../src/history/history-record.js';
import type { HistorySearch, HistorySearchFilter } from '../src/history/history-search.js';
import type { UsageSeries } from '../src/history/usage-series.js';
import { DATABASE_FILE, openDatabase } from '../src/store/database.js';
import { createHistoryRepository, type HistoryBatch } from '../src/store/history-repository.js';
import { createSqliteHistoryReads } from '../src/store/sqlite/history-reads.js';

export interface HistorySearchFigures {
  records: number;
  /** First page (50) of a one- or two-word search, over varied words: 95th and 50th percentile. */
  fullTextP95Ms: number;
  fullTextP50Ms: number;
  /** The same with a token or model filter added. */
  filteredP95Ms: number;
  /** Listing without a search (newest first, optionally filtered), p95. */
  listP95Ms: number;
  /** The dashboard's usage queries (by day, by model, by token over 30 days), slowest of the runs. */
  usageQueryMs: number;
  /** The same over the whole 90 days. */
  usage90dMs: number;
  loadSeconds: number;
  databaseMb: number;
}

export interface HistorySearchBenchOptions {
  records?: number;
  /** Keep the database directory (its path is logged). */
  keep?: boolean;
  log?: (line: string) => void;
}

const DAY = 86_400_000;
const SPAN_DAYS = 90;
const BATCH = 5000;

/** A small deterministic PRNG, so every run stores the same history. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20250101;
// Reset by historyBatches, so each fill (SQLite's, PostgreSQL's) stores the same history.
let rnd = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;

const COMMON = [
  'the',
  'a',
  'to',
  'of',
  'and',
  'in',
  'is',
  'for',
  'how',
  'what',
  'with',
  'can',
  'you',
  'my',
  'this',
  'that',
  'it',
  'on',
  'do',
  'i',
  'be',
  'an',
  'from',
  'why',
  'when',
  'use',
  'write',
  'explain',
  'code',
  'function',
  'error',
  'python',
  'file',
  'data',
  'list',
  'example',
  'please',
  'make',
  'help',
  'should',
];
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'ti',
  'vo',
  'ze',
  'pa',
  'qui',
  'dor',
  'len',
  'gar',
  'bel',
  'fin',
  'tro',
  'sul',
  'mar',
  'xen',
];

/** About 6,000 distinct words: common English first, then invented ones; drawn Zipf-like, as text is. */
const VOCABULARY: string[] = (() => {
  const words = new Set(COMMON);
  const r = random(7);
  while (words.size < 6000) {
    const n = 2 + Math.floor(r() * 3);
    let word = '';
    for (let i = 0; i < n; i++) word += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
})();
const ZIPF: Float64Array = (() => {
  const cumulative = new Float64Array(VOCABULARY.length);
  let sum = 0;
  for (let i = 0; i < VOCABULARY.length; i++) {
    sum += 1 / (i + 1) ** 1.05;
    cumulative[i] = sum;
  }
  for (let i = 0; i < cumulative.length; i++) cumulative[i]! /= sum;
  return cumulative;
})();

function word(): string {
  const x = rnd();
  let low = 0;
  let high = ZIPF.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((ZIPF[mid] as number) < x) low = mid + 1;
    else high = mid;
  }
  return VOCABULARY[low] as string;
}

function sentence(min: number, max: number): string {
  const n = min + Math.floor(rnd() * (max - min));
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(word());
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

const paragraph = (sentences: number) => Array.from({ length: sentences }, () => sentence(6, 18)).join(' ');

const MODELS = [
  'llama3.2:latest',
  'qwen3:8b',
  'mistral:7b',
  'gemma3:12b',
  'phi4:14b',
  'deepseek-r1:8b',
  'codellama:13b',
  'nomic-embed-text:latest',
];
const TOKENS = Array.from({ length: 40 }, (_, i) => ({
  id: randomUUID(),
  name: `team-${i}`,
  // Each token mostly uses one or two models, as people do.
  models: [MODELS[i % 7] as string, MODELS[(i * 3 + 1) % 7] as string],
  weight: 1 / (i + 1) ** 0.8,
}));
const TOKEN_WEIGHTS = (() => {
  const total = TOKENS.reduce((sum, t) => sum + t.weight, 0);
  let running = 0;
  return TOKENS.map((t) => {
    running += t.weight / total;
    return running;
  });
})();

function token() {
  const x = rnd();
  return TOKENS[TOKEN_WEIGHTS.findIndex((c) => x <= c)] ?? (TOKENS[0] as (typeof TOKENS)[number]);
}

interface Conversation {
  messages: { role: string; content: string }[];
  model: string;
}

/** Builds record i of n; chats sometimes continue an open conversation of the same token. */
function makeRecord(i: number, n: number, t0: number, open: Map<string, Conversation>) {
  const startedAt = Math.floor(t0 + (i / n) * SPAN_DAYS * DAY + rnd() * 30_000);
  const who = token();
  const kind = rnd();
  let endpoint = '/api/chat';
  let model = pick(who.models);
  let request: Record<string, unknown>;
  let answer: string | null = paragraph(1 + Math.floor(rnd() * 5));
  let conversation: Conversation | undefined;
  if (kind < 0.05) {
    endpoint = '/api/embed';
    model = 'nomic-embed-text:latest';
    request = { model, input: [sentence(10, 40)] };
    answer = null;
  } else if (kind < 0.15) {
    endpoint = '/api/generate';
    request = { model, prompt: sentence(8, 60), stream: rnd() < 0.7 };
  } else {
    endpoint = kind < 0.4 ? '/v1/chat/completions' : '/api/chat';
    const previous = open.get(who.id);
    if (previous && rnd() < 0.4 && previous.messages.length < 12) {
      conversation = previous;
      model = previous.model;
      conversation.messages.push({ role: 'user', content: sentence(4, 30) });
    } else {
      conversation = { model, messages: [{ role: 'user', content: sentence(6, 40) }] };
      if (rnd() < 0.3) conversation.messages.unshift({ role: 'system', content: sentence(6, 20) });
    }
    request = { model, messages: conversation.messages.map((m) => ({ ...m })), stream: rnd() < 0.8 };
  }
  const roll = rnd();
  const outcome: HistoryEnd['outcome'] =
    roll < 0.02 ? 'error' : roll < 0.04 ? 'refused' : roll < 0.05 ? 'aborted' : 'ok';
  if (outcome !== 'ok') answer = outcome === 'aborted' ? (answer?.slice(0, 40) ?? null) : null;
  if (conversation && answer !== null && outcome === 'ok') {
    conversation.messages.push({ role: 'assistant', content: answer });
    open.set(who.id, conversation);
  } else if (conversation) open.delete(who.id);
  const durationMs = outcome === 'refused' ? 1 : Math.round(Math.exp(5.5 + rnd() * 2.5));
  const promptTokens = 20 + Math.floor(rnd() * 400);
  const start: HistoryStart = {
    id: randomUUID(),
    servedBy: 'bench-node',
    tokenId: who.id,
    tokenName: who.name,
    tokenPrefix: `oc_${who.name}`,
    method: 'POST',
    endpoint,
    model,
    stream: typeof request.stream === 'boolean' ? request.stream : null,
    startedAt,
    historyMode: 'full',
    request,
    clientAddr: `10.0.${i % 7}.${i % 200}`,
    userAgent: pick(['ollama-js/0.6.4', 'OpenAI/JS 6.49.0', 'python-requests/2.32', 'obsidian-copilot']),
  };
  const end: HistoryEnd = {
    finishedAt: startedAt + durationMs,
    ttftMs: outcome === 'refused' ? null : Math.min(durationMs, 50 + rnd() * 400),
    durationMs,
    status: outcome === 'refused' ? (rnd() < 0.5 ? 403 : 429) : outcome === 'error' ? 500 : 200,
    outcome,
    error: outcome === 'ok' ? null : outcome === 'refused' ? 'quota exceeded' : 'upstream failed',
    answerContent: answer,
    answerThinking: model.startsWith('qwen3') || model.startsWith('deepseek') ? sentence(10, 40) : null,
    answerToolCalls: null,
    answerSummary: null,
    doneReason: outcome === 'ok' ? 'stop' : null,
    promptTokens,
    completionTokens: answer === null ? 0 : Math.floor(answer.length / 4),
    totalNs: durationMs * 1e6,
    loadNs: 1e6,
    promptEvalNs: promptTokens * 1e5,
    evalNs: durationMs * 9e5,
  };
  return { start, end, startWritten: false as const };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

async function timeIt(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

/** Times each run in turn, never two at once, as one admin's clicks would come. */
async function timeEach<T>(items: T[], run: (item: T, i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (const [i, item] of items.entries()) times.push(await timeIt(() => run(item, i)));
  return times;
}

/** Words to search for: frequent, middling and rare ones, single and in pairs. */
function queries(count: number): string[] {
  const r = random(99);
  const at = (from: number, to: number) => VOCABULARY[from + Math.floor(r() * (to - from))] as string;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const band = i % 5;
    if (band === 0) out.push(at(0, 40));
    else if (band === 1) out.push(at(40, 400));
    else if (band === 2) out.push(at(400, 6000));
    else if (band === 3) out.push(`${at(0, 400)} ${at(40, 2000)}`);
    else out.push(`"${at(0, 100)} ${at(0, 100)}"`);
  }
  return out;
}

/**
 * The history every history search bench stores: n records over the last 90 days, in
 * batches of `size`, the same texts, tokens, models and dates order on every call.
 */
export function* historyBatches(n: number, size: number): Generator<HistoryBatch> {
  rnd = random(SEED);
  const t0 = Date.now() - SPAN_DAYS * DAY;
  const open = new Map<string, Conversation>();
  for (let from = 0; from < n; from += size) {
    const batch: HistoryBatch = { started: [], finished: [] };
    for (let i = from; i < Math.min(n, from + size); i++) batch.finished.push(makeRecord(i, n, t0, open));
    yield batch;
  }
}

/** What measureHistorySearch measured, and the slowest of each kind (to look at its plan). */
export interface HistorySearchTimes {
  fullTextP95Ms: number;
  fullTextP50Ms: number;
  filteredP95Ms: number;
  listP95Ms: number;
  usageQueryMs: number;
  usage90dMs: number;
  slowest: { fullText: HistorySearchFilter; filtered: HistorySearchFilter; list: HistorySearchFilter };
}

const slowestOf = <T>(items: T[], times: number[]): T => items[times.indexOf(Math.max(...times))] as T;

/** The same queries over any backend's history reads: a warm-up, then each query timed alone. */
export async function measureHistorySearch(
  search: HistorySearch,
  usage: UsageSeries,
): Promise<HistorySearchTimes> {
  // Warm the page cache as a running server would be, then measure.
  const page = (filter: HistorySearchFilter) => historyPage(search, filter, { limit: 50 });
  for (const q of queries(20)) await page({ q });

  const fullTextFilters: HistorySearchFilter[] = queries(300).map((q) => ({ q }));
  const fullText = await timeEach(fullTextFilters, page);
  const filteredFilters: HistorySearchFilter[] = queries(100).map((q, i) =>
    i % 2 === 0
      ? { q, tokenId: (TOKENS[(i * 7) % TOKENS.length] as (typeof TOKENS)[number]).id }
      : { q, models: [MODELS[i % MODELS.length] as string] },
  );
  const filtered = await timeEach(filteredFilters, page);
  const now = Date.now();
  const listFilters: HistorySearchFilter[] = Array.from({ length: 60 }, (_, i) =>
    i % 3 === 0
      ? {}
      : i % 3 === 1
        ? { tokenId: (TOKENS[i % TOKENS.length] as (typeof TOKENS)[number]).id }
        : { outcome: 'error', since: now - 30 * DAY },
  );
  const list = await timeEach(listFilters, page);
  const dashboard = async (days: number) => {
    for (const by of ['day', 'model', 'token'] as const) await usage.usage(by, now - days * DAY, now);
  };
  await dashboard(30);
  const usage30 = await timeEach(Array.from({ length: 10 }), () => dashboard(30));
  const usage90 = await timeEach(Array.from({ length: 10 }), () => dashboard(90));
  return {
    fullTextP95Ms: round(percentile(fullText, 95)),
    fullTextP50Ms: round(percentile(fullText, 50)),
    filteredP95Ms: round(percentile(filtered, 95)),
    listP95Ms: round(percentile(list, 95)),
    usageQueryMs: round(Math.max(...usage30)),
    usage90dMs: round(Math.max(...usage90)),
    slowest: {
      fullText: slowestOf(fullTextFilters, fullText),
      filtered: slowestOf(filteredFilters, filtered),
      list: slowestOf(listFilters, list),
    },
  };
}

export async function benchHistorySearch(
  options: HistorySearchBenchOptions = {},
): Promise<HistorySearchFigures> {
  const n = options.records ?? 1_000_000;
  const log = options.log ?? ((line: string) => console.error(line));
  const dir = mkdtempSync(join(tmpdir(), 'history-bench-'));
  const db = openDatabase(dir);
  try {
    // Loading only: the measured queries below run with the server's settings.
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const repo = createHistoryRepository(db, 'bench-node');
    const { search, usage } = createSqliteHistoryReads(db);
    const loadStart = performance.now();
    let stored = 0;
    for (const batch of historyBatches(n, BATCH)) {
      repo.writeBatch(batch);
      stored += batch.finished.length;
      if ((stored / BATCH) % 20 === 1) log(`history bench: ${stored} / ${n} records stored`);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -2000');
    db.pragma('optimize');
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const databaseMb = statSync(join(dir, DATABASE_FILE)).size / 1024 / 1024;
    log(`history bench: loaded ${n} records in ${loadSeconds.toFixed(0)} s (${databaseMb.toFixed(0)} MB)`);

    const { slowest: _slowest, ...times } = await measureHistorySearch(search, usage);
    return {
      records: await search.count(),
      ...times,
      loadSeconds: Math.round(loadSeconds),
      databaseMb: Math.round(databaseMb),
    };
  } finally {
    db.close();
    if (options.keep) log(`history bench: database kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { records: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });
  const figures = await benchHistorySearch({
    ...(values.records ? { records: Number(values.records) } : {}),
    keep: values.keep ?? false,
  });
  const verdict = (value: number, target: number) =>
    `${value} ms (target < ${target} ms: ${value < target ? 'met' : 'MISSED'})`;
  console.log(`records                 ${figures.records}`);
  console.log(`full-text search p95    ${verdict(figures.fullTextP95Ms, 100)}`);
  console.log(`full-text search p50    ${figures.fullTextP50Ms} ms`);
  console.log(`search + filter p95     ${figures.filteredP95Ms} ms`);
  console.log(`list (no search) p95    ${figures.listP95Ms} ms`);
  console.log(`dashboard usage (30 d)  ${verdict(figures.usageQueryMs, 200)}`);
  console.log(`dashboard usage (90 d)  ${figures.usage90dMs} ms`);
  console.log(`load                    ${figures.loadSeconds} s, database ${figures.databaseMb} MB`);
}
