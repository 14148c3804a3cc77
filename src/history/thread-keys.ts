/**
 * Conversation keys. Chat clients resend the whole conversation each turn, so a request
 * whose messages up to its last assistant message equal an earlier request's messages
 * followed by that request's answer continues the earlier one's thread:
 *
 *   lookupKey(request)            = H(token, messages[0 .. last assistant])
 *   continuationKey(record, answer) = H(token, messages ++ [assistant: answer])
 *
 * Messages are compared by role and text, whitespace collapsed, so a client that trims
 * answers or drops thinking and tool-call details still matches. The token is part of
 * the hash: a thread never crosses tokens.
 */
import { hash as oneShotHash } from 'node:crypto';
import { type ConversationMessage, conversationOf, lastAssistantIndex, textOf } from './search-text.js';

const normalise = (text: string): string => text.normalize('NFC').replace(/\s+/g, ' ').trim();

function hash(tokenId: string, conversation: readonly ConversationMessage[]): string {
  // One string hashed at once: the same bytes, so the same keys, as updating a Hash
  // object piece by piece, without the object (this runs for every record written).
  let text = tokenId;
  for (const message of conversation) {
    text += `\u0000${message.role.toLowerCase()}\u0001${normalise(message.text)}`;
  }
  return oneShotHash('sha256', text, 'base64url').slice(0, 32);
}

/**
 * The key under which this request looks for the exchange it continues: null for the
 * first turn of a conversation (no assistant message yet) and for non-chat requests.
 */
export function lookupKey(tokenId: string | null, endpoint: string, request: unknown): string | null {
  if (tokenId === null) return null;
  const conversation = conversationOf(endpoint, request);
  if (!conversation) return null;
  const last = lastAssistantIndex(conversation);
  if (last < 0) return null;
  return hash(tokenId, conversation.slice(0, last + 1));
}

/** The key a later request continuing this exchange will look for; null for non-chat requests. */
export function continuationKey(
  tokenId: string | null,
  endpoint: string,
  request: unknown,
  answer: string | null | undefined,
): string | null {
  if (tokenId === null) return null;
  const conversation = conversationOf(endpoint, request);
  if (!conversation) return null;
  return hash(tokenId, [...conversation, { role: 'assistant', text: answer ?? '' }]);
}

const REDACTED = '[redacted]';

/**
 * The request with every message whose text is one of `texts` replaced by `[redacted]`;
 * undefined when nothing matched. Used to erase a redacted exchange from the later
 * requests of its conversation, which carry copies of it.
 */
export function scrubConversation(request: unknown, texts: ReadonlySet<string>): unknown {
  if (typeof request !== 'object' || request === null || texts.size === 0) return undefined;
  const body = request as Record<string, unknown>;
  let changed = false;
  const scrubList = (list: unknown[]): unknown[] =>
    list.map((message) => {
      if (typeof message === 'string') {
        if (!texts.has(normalise(message))) return message;
        changed = true;
        return REDACTED;
      }
      if (typeof message !== 'object' || message === null) return message;
      const m = message as Record<string, unknown>;
      const field = 'content' in m ? 'content' : typeof m.output === 'string' ? 'output' : undefined;
      if (field === undefined || !texts.has(normalise(textOf(m[field])))) return message;
      changed = true;
      return { ...m, [field]: REDACTED };
    });
  const out: Record<string, unknown> = { ...body };
  if (Array.isArray(body.messages)) out.messages = scrubList(body.messages);
  if (Array.isArray(body.input)) out.input = scrubList(body.input);
  for (const field of ['system', 'instructions'] as const) {
    if (body[field] !== undefined && texts.has(normalise(textOf(body[field])))) {
      out[field] = REDACTED;
      changed = true;
    }
  }
  return changed ? out : undefined;
}

/** The normalised texts a redaction erases from later requests: the exchange's new turn and answer. */
export function redactionTexts(parts: readonly string[]): Set<string> {
  return new Set(parts.map(normalise).filter((text) => text !== ''));
}
