/**
 * Sanitised Markdown for model output. The renderer (marked, DOMPurify, highlight.js)
 * is loaded on first use; until then the text is shown as plain text.
 */
import { useEffect, useState } from 'preact/hooks';

type Renderer = (text: string) => string;
let renderer: Renderer | undefined;
let loading: Promise<Renderer> | undefined;

function load(): Promise<Renderer> {
  loading ??= import('../lib/markdown.js').then((module) => {
    renderer = module.renderMarkdown;
    return renderer;
  });
  return loading;
}

export function Markdown({ text }: { text: string }) {
  const [render, setRender] = useState<Renderer | undefined>(() => renderer);
  useEffect(() => {
    if (!render) load().then((r) => setRender(() => r));
  }, [render]);
  if (!render) return <div class="md plain">{text}</div>;
  // The HTML comes from renderMarkdown, which escapes raw HTML and runs DOMPurify.
  return <div class="md" dangerouslySetInnerHTML={{ __html: render(text) }} />;
}
