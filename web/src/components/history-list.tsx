/**
 * History records as a table (cards on narrow screens): when, token, model, endpoint,
 * the prompt's first line, status, token counts and duration; the matches of a search
 * marked in the prompt and the snippet around the first one.
 */
import type { ComponentChildren } from 'preact';
import { promptLine } from '../lib/exchange.js';
import { count, dateTime, isoAttr, millis } from '../lib/format.js';
import type { SearchTerm } from '../lib/highlight.js';
import type { HistoryItem } from '../lib/types.js';
import { StatusBadge } from './exchange-view.js';
import { Highlighted } from './highlighted.js';

interface Props {
  items: HistoryItem[];
  showToken?: boolean;
  /** The prompt cell: a link, a button, … around `content`, the prompt's start. */
  open: (item: HistoryItem, content: ComponentChildren) => ComponentChildren;
  caption: string;
  /** The search's terms, marked where they occur. */
  terms?: readonly SearchTerm[];
}

const NO_TERMS: readonly SearchTerm[] = [];

export function HistoryList({ items, showToken = true, open, caption, terms = NO_TERMS }: Props) {
  return (
    <div class="table-wrap">
      <table class="history cards">
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            {showToken && <th scope="col">Token</th>}
            <th scope="col">Model</th>
            <th scope="col">Prompt</th>
            <th scope="col">Status</th>
            <th scope="col">Tokens in/out</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => {
            const text = item.redactedAt ? '(redacted)' : promptLine(item).slice(0, 160) || item.endpoint;
            return (
              <tr key={item.id}>
                <td data-label="When">
                  <time dateTime={isoAttr(item.startedAt)}>{dateTime(item.startedAt)}</time>
                </td>
                {showToken && <td data-label="Token">{item.tokenName ?? '—'}</td>}
                <td data-label="Model">
                  {item.model ?? '—'}
                  <div class="muted small">{item.endpoint}</div>
                </td>
                <td data-label="Prompt" class="prompt-cell">
                  {open(item, item.redactedAt ? text : <Highlighted text={text} terms={terms} />)}
                  {item.snippet && item.snippet !== text ? (
                    <div class="muted small snippet">
                      <Highlighted text={item.snippet} terms={terms} />
                    </div>
                  ) : null}
                </td>
                <td data-label="Status">
                  <StatusBadge item={item} />
                </td>
                <td data-label="Tokens in/out">
                  {count(item.promptTokens)} / {count(item.completionTokens)}
                </td>
                <td data-label="Duration">{millis(item.durationMs)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
