/**
 * Which browser origins may call the companion: Ollama's own defaults (localhost in
 * every form, app://, file://, tauri://, vscode webviews) plus configured globs.
 */
const OLLAMA_DEFAULT_ORIGINS = [
  'http://localhost',
  'https://localhost',
  'http://localhost:*',
  'https://localhost:*',
  'http://127.0.0.1',
  'https://127.0.0.1',
  'http://127.0.0.1:*',
  'https://127.0.0.1:*',
  'http://0.0.0.0',
  'https://0.0.0.0',
  'http://0.0.0.0:*',
  'https://0.0.0.0:*',
  'app://*',
  'file://*',
  'tauri://*',
  'vscode-webview://*',
  'vscode-file://*',
];

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

export function createOriginMatcher(extra: readonly string[]): (origin: string) => boolean {
  if (extra.includes('*')) return () => true;
  const patterns = [...OLLAMA_DEFAULT_ORIGINS, ...extra].map(globToRegExp);
  return (origin) => patterns.some((p) => p.test(origin));
}
