/**
 * Which models a token may use, from names or globs. Names are compared the way Ollama
 * resolves them: `llama3.2` and `llama3.2:latest` are one model, and so is
 * `registry.ollama.ai/library/llama3.2:latest`. A glob's `*` and `?` never match `/`,
 * so `llama3*` cannot reach a model pulled from a registry host named `llama3.evil…/`.
 *
 * Cloud models (a signed-in Ollama's `gpt-oss:120b-cloud`, `gemma4:cloud`) run on the
 * owner's paid ollama.com account, so "all models" means all local models. A cloud model
 * is granted only by its exact name or by a glob that is itself cloud-shaped
 * (`*-cloud`, `*:cloud`, `gpt-oss:*-cloud`); `*`, `gpt-oss*` and other globs never
 * match one.
 *
 * The same pattern syntax filters history by model (`compileModelPattern`): there a
 * pattern only selects records to show, so it follows the names alone and `*` covers
 * cloud models too.
 */
import { badRequest } from '../errors/companion-error.js';

export type ModelMatcher = (model: string) => boolean;

/** The name Ollama would resolve: default registry and namespace dropped, `:latest` added. */
export function normalizeModelName(name: string): string {
  let n = name.trim().toLowerCase();
  n = n.replace(/^registry\.ollama\.ai\//, '').replace(/^library\//, '');
  const slash = n.lastIndexOf('/');
  return n.indexOf(':', slash + 1) === -1 ? `${n}:latest` : n;
}

/**
 * Whether a name (or a glob) is a cloud model's: its tag is `cloud` or ends in `-cloud`,
 * or its name ends in `-cloud` (Ollama's naming for models served from ollama.com).
 */
export function isCloudModel(name: string): boolean {
  return isCloudNormalized(normalizeModelName(name));
}

function isCloudNormalized(normalized: string): boolean {
  // `name:tag@sha256:…` is the same model to Ollama: the digest does not hide the tag.
  const at = normalized.indexOf('@');
  const n = at === -1 ? normalized : normalized.slice(0, at);
  const colon = n.indexOf(':', n.lastIndexOf('/') + 1);
  const name = colon === -1 ? n : n.slice(0, colon);
  const tag = colon === -1 ? 'latest' : n.slice(colon + 1);
  return tag === 'cloud' || tag.endsWith('-cloud') || name.endsWith('-cloud');
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/** Whether `glob` matches a name as written (trimmed, any case) or as Ollama resolves it. */
function globMatches(glob: RegExp, model: string, normalized: string): boolean {
  return glob.test(model.trim().toLowerCase()) || glob.test(normalized);
}

/**
 * One name or glob, as in a token's model rules, for filtering history: an exact name
 * matches every name Ollama resolves to the same model (`llama3.2`, `llama3.2:latest`);
 * `*` and `?` never match `/`. Unlike a grant, no special case for cloud models. A
 * pattern that cannot name a model (blank, or with spaces inside) matches nothing.
 */
export function compileModelPattern(pattern: string): ModelMatcher {
  const p = pattern.trim();
  if (p === '' || /\s/.test(p)) return () => false;
  if (!/[*?]/.test(p)) {
    const wanted = normalizeModelName(p);
    return (model) => normalizeModelName(model) === wanted;
  }
  const glob = globToRegExp(p);
  return (model) => globMatches(glob, model, normalizeModelName(model));
}

/** @throws CompanionError(bad_request) for an empty or malformed rule. */
export function compileModelRules(rules: readonly string[]): ModelMatcher {
  // No rules is "all models", as `*` is: all local models.
  let allLocal = rules.length === 0;
  const exact = new Set<string>();
  const localGlobs: RegExp[] = [];
  const cloudGlobs: RegExp[] = [];
  for (const rule of rules) {
    const r = rule.trim();
    if (r === '' || /\s/.test(r)) throw badRequest(`invalid model rule "${rule}"`);
    if (r === '*') allLocal = true;
    else if (!/[*?]/.test(r)) exact.add(normalizeModelName(r));
    else (isCloudModel(r) ? cloudGlobs : localGlobs).push(globToRegExp(r));
  }
  const allows = (model: string): boolean => {
    const normalized = normalizeModelName(model);
    if (exact.has(normalized)) return true;
    const cloud = isCloudNormalized(normalized);
    if (!cloud && allLocal) return true;
    return (cloud ? cloudGlobs : localGlobs).some((g) => globMatches(g, model, normalized));
  };
  // A token asks for the same few models again and again: each name is resolved once.
  // Bounded, so a client naming endless models cannot grow it.
  const seen = new Map<string, boolean>();
  return (model) => {
    let allowed = seen.get(model);
    if (allowed === undefined) {
      allowed = allows(model);
      if (seen.size >= MATCHES_KEPT) seen.clear();
      seen.set(model, allowed);
    }
    return allowed;
  };
}

/** Model names whose answer a token's rules keep (see compileModelRules). */
const MATCHES_KEPT = 256;
