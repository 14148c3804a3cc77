/**
 * One request and its answer, as a conversation turn: the messages it added, the
 * answer (thinking, text, tool calls, error) and Ollama's counters and timings. Prompts
 * are shown as text; answers as sanitised Markdown; the matches of a search are marked.
 */
import type { ComponentChildren } from 'preact';
import type { Message } from '../lib/exchange.js';
import { count, dateTime, isoAttr, millis, nanos, rate } from '../lib/format.js';
import type { SearchTerm } from '../lib/highlight.js';
import type { HistoryItem } from '../lib/types.js';
import { Highlighted } from './highlighted.js';
import { Markdown } from './markdown-view.js';

export function StatusBadge({ item }: { item: Pick<HistoryItem, 'outcome' | 'status'> }) {
  const tone = item.outcome === 'ok' ? 'ok' : item.outcome === 'in_progress' ? 'info' : 'bad';
  return (
    <span class={`badge ${tone}`}>
      {item.outcome.replace('_', ' ')}
      {item.status ? ` · ${item.status}` : ''}
    </span>
  );
}

function MessageView({ message, terms }: { message: Message; terms: readonly SearchTerm[] }) {
  const fromModel = message.role === 'assistant';
  return (
    <div
      class={`msg role-${message.role === 'user' || fromModel || message.role === 'system' ? message.role : 'other'}`}
    >
      <div class="msg-role">{message.role}</div>
      {fromModel ? (
        <Markdown text={message.text} terms={terms} />
      ) : (
        <div class="msg-text">
          <Highlighted text={message.text} terms={terms} />
        </div>
      )}
      {message.images ? <div class="muted">{message.images} image(s) attached</div> : null}
    </div>
  );
}

function Counters({ item }: { item: HistoryItem }) {
  const rows: [string, string][] = [
    ['Prompt tokens', count(item.promptTokens)],
    ['Answer tokens', count(item.completionTokens)],
    ['First token', millis(item.ttftMs)],
    ['Duration', millis(item.durationMs)],
    ['Model load', nanos(item.loadNs)],
    ['Prompt eval', nanos(item.promptEvalNs)],
    ['Generation', item.evalNs ? `${nanos(item.evalNs)} · ${rate(item.completionTokens, item.evalNs)}` : '—'],
    ['Done reason', item.doneReason ?? '—'],
  ];
  return (
    <dl class="counters">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

interface Props {
  item: HistoryItem;
  messages: Message[];
  current?: boolean;
  actions?: ComponentChildren;
  /** What to mark: the terms of the search the exchange was found by. */
  terms?: readonly SearchTerm[];
}

const NO_TERMS: readonly SearchTerm[] = [];

export function ExchangeView({ item, messages, current = false, actions, terms = NO_TERMS }: Props) {
  const headingId = `x-${item.id}-h`;
  return (
    <article id={`x-${item.id}`} class={`exchange${current ? ' current' : ''}`} aria-labelledby={headingId}>
      <header class="exchange-head">
        <h3 id={headingId}>
          <time dateTime={isoAttr(item.startedAt)}>{dateTime(item.startedAt)}</time>
          {item.model ? <span class="model">{item.model}</span> : null}
        </h3>
        <div class="exchange-meta">
          <StatusBadge item={item} />
          <span class="muted">
            {item.method ?? 'POST'} {item.endpoint}
          </span>
          {item.tokenName ? <span class="muted">token {item.tokenName}</span> : null}
          {actions}
        </div>
      </header>
      {item.redactedAt ? (
        <p class="note">
          Content redacted{item.redactedBy ? ` by ${item.redactedBy}` : ''} on {dateTime(item.redactedAt)}.
        </p>
      ) : (
        <>
          {messages.map((m, i) => (
            // Messages of a stored request never change order.
            <MessageView key={i} message={m} terms={terms} />
          ))}
          {item.historyMode === 'metadata' && messages.length === 0 ? (
            <p class="muted">Only metadata is kept for this token.</p>
          ) : null}
          <div class="msg role-assistant answer">
            <div class="msg-role">answer</div>
            {item.answerThinking ? (
              <details class="thinking">
                <summary>Thinking</summary>
                <div class="msg-text">
                  <Highlighted text={item.answerThinking} terms={terms} />
                </div>
              </details>
            ) : null}
            {item.answerContent ? (
              <Markdown text={item.answerContent} terms={terms} />
            ) : item.answer ? (
              <div class="msg-text">
                <Highlighted text={item.answer} terms={terms} />
              </div>
            ) : null}
            {item.answerToolCalls && item.answerToolCalls.length > 0 ? (
              <pre class="tool-calls">{JSON.stringify(item.answerToolCalls, null, 2)}</pre>
            ) : null}
            {item.error ? <p class="note error">{item.error}</p> : null}
            {!item.answerContent &&
            !item.answer &&
            !item.answerToolCalls?.length &&
            !item.error &&
            !item.answerThinking ? (
              <p class="muted">
                {item.outcome === 'in_progress' ? 'Still running…' : 'No answer text recorded.'}
              </p>
            ) : null}
          </div>
        </>
      )}
      <Counters item={item} />
      <p class="exchange-foot muted">
        {item.clientAddr ? `from ${item.clientAddr}` : ''}
        {item.userAgent ? ` · ${item.userAgent}` : ''}
        {item.servedBy ? ` · served by ${item.servedBy.slice(0, 12)}` : ''}
      </p>
    </article>
  );
}
