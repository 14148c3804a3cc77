/**
 * Which models a token may use, from names or globs. Names are compared the way Ollama
 * resolves them: `llama3.2` and `llama3.2:latest` are one model, and so is
 * `registry.ollama.ai/library/llama3.2:latest`. A glob's `*` and `?` never match `/`,
 * so `llama3*` cannot reach a model pulled from a registry host named `llama3.evil…/`.
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

function globToRegExp(glob: string): RegExp {
  const body = glob
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/** @throws CompanionError(bad_request) for an empty or malformed rule. */
export function compileModelRules(rules: readonly string[]): ModelMatcher {
  if (rules.length === 0 || rules.includes('*')) return () => true;
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const rule of rules) {
    const r = rule.trim();
    if (r === '' || /\s/.test(r)) throw badRequest(`invalid model rule "${rule}"`);
    if (/[*?]/.test(r)) globs.push(globToRegExp(r));
    else exact.add(normalizeModelName(r));
  }
  return (model) => {
    const normalized = normalizeModelName(model);
    if (exact.has(normalized)) return true;
    const raw = model.trim().toLowerCase();
    return globs.some((g) => g.test(raw) || g.test(normalized));
  };
}
