/**
 * Sanitised Markdown for model output. The renderer (marked, DOMPurify, highlight.js)
 * is loaded on first use; until then the text is shown as plain text.
 */
import { useEffect, useState } from 'preact/hooks';
import type { SearchTerm } from '../lib/highlight.js';
import { Highlighted } from './highlighted.js';

type Renderer = (text: string, terms: readonly SearchTerm[]) => string;
let renderer: Renderer | undefined;
let loading: Promise<Renderer> | undefined;

function load(): Promise<Renderer> {
  loading ??= import('../lib/markdown.js').then((module) => {
    renderer = module.renderMarkdown;
    return renderer;
  });
  return loading;
}

const NO_TERMS: readonly SearchTerm[] = [];

export function Markdown({ text, terms = NO_TERMS }: { text: string; terms?: readonly SearchTerm[] }) {
  const [render, setRender] = useState<Renderer | undefined>(() => renderer);
  useEffect(() => {
    if (!render) load().then((r) => setRender(() => r));
  }, [render]);
  if (!render)
    return (
      <div class="md plain">
        <Highlighted text={text} terms={terms} />
      </div>
    );
  // The HTML comes from renderMarkdown, which escapes raw HTML and runs DOMPurify.
  return <div class="md" dangerouslySetInnerHTML={{ __html: render(text, terms) }} />;
}
