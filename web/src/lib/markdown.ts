/**
 * Markdown from model answers turned into safe HTML: raw HTML in the text is shown as
 * text (never parsed), code blocks are highlighted, and the result goes through DOMPurify
 * anyway, so a stored `<script>` or `<img onerror>` can never run in an admin's browser.
 * Search matches are marked in the sanitised tree's text nodes (as DOM nodes, never as
 * HTML). Loaded on demand: only the conversation views need it.
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import go from 'highlight.js/lib/languages/go';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import { Marked } from 'marked';
import { markMatches, type SearchTerm } from './highlight.js';

for (const [name, language] of Object.entries({ bash, go, javascript, json, python, sql, typescript, xml })) {
  hljs.registerLanguage(name, language);
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    code({ text, lang }) {
      const language = (lang ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
      const known = language !== '' && hljs.getLanguage(language) !== undefined;
      const body = known ? hljs.highlight(text, { language, ignoreIllegals: true }).value : escapeHtml(text);
      const label = known ? ` language-${language}` : '';
      return `<pre class="code"><code class="hljs${label}">${body}</code></pre>\n`;
    },
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer nofollow');
    node.setAttribute('target', '_blank');
  }
});

const PURIFY = {
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
  ADD_ATTR: ['target'],
};

/** Sanitised HTML for a Markdown text, with the matches of `terms` in <mark>. */
export function renderMarkdown(text: string, terms: readonly SearchTerm[] = []): string {
  const html = marked.parse(text) as string;
  if (terms.length === 0) return DOMPurify.sanitize(html, PURIFY);
  // The sanitised tree, still in DOMPurify's inert document: marks go into its text
  // nodes, then it is serialised once, as sanitize() itself would.
  const tree = DOMPurify.sanitize(html, { ...PURIFY, RETURN_DOM_FRAGMENT: true });
  markMatches(tree, terms);
  const holder = (tree.ownerDocument ?? document).createElement('div');
  holder.append(tree);
  return holder.innerHTML;
}
