/**
 * The tokens this node knows, held in memory by secret hash so a request is
 * authenticated without touching the disk. Changes made by other processes on the same
 * database (the CLI) are picked up by polling SQLite's data_version, well within a second,
 * and at once when a secret is not found: a token the CLI has just made works on the very
 * next request.
 */
import { CompanionError } from '../errors/companion-error.js';
import { compileModelRules, type ModelMatcher } from '../policy/model-rules.js';
import type { Token } from '../policy/token.js';
import type { MetaRepository } from '../store/meta-repository.js';
import type { TokenRepository } from '../store/token-repository.js';
import { hashSecret } from './token-secret.js';

export interface KnownToken {
  token: Token;
  allowsModel: ModelMatcher;
}

const REALM = 'Bearer realm="ollama-companion"';

export function unauthenticated(message: string): CompanionError {
  return new CompanionError('unauthenticated', 401, message, { headers: { 'www-authenticate': REALM } });
}

export class TokenDirectory {
  private byHash = new Map<string, KnownToken>();
  private seenVersion = -1;
  private seenTokensVersion = -1;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tokens: TokenRepository,
    private readonly meta: MetaRepository,
    private readonly now: () => number = Date.now,
  ) {
    this.reload();
  }

  /** Re-reads every token. Called after local changes and when another process wrote. */
  reload(): void {
    // Read first: a change committed after this read moves the version again, so it is
    // picked up by the next check rather than missed.
    const tokensVersion = this.meta.tokensVersion();
    const next = new Map<string, KnownToken>();
    for (const { token, secretHash } of this.tokens.listWithHashes()) {
      next.set(secretHash, { token, allowsModel: compileModelRules(token.models) });
    }
    this.byHash = next;
    this.seenTokensVersion = tokensVersion;
  }

  /**
   * Reloads when another connection changed a token since the last load. data_version
   * (a pragma, no disk read) says the database changed at all, history writes included;
   * only then is the tokens version read (one row), and only a token change reloads.
   * So an unknown secret costs at most these two reads, however many arrive, and a
   * storm of made-up tokens never makes the directory re-read the tokens table.
   */
  private refreshIfChanged(): void {
    const version = this.meta.dataVersion();
    if (version === this.seenVersion) return;
    this.seenVersion = version;
    if (this.meta.tokensVersion() !== this.seenTokensVersion) this.reload();
  }

  /** Polls for changes made by other connections, for revocations and changed limits. */
  watch(intervalMs = 250): void {
    this.seenVersion = this.meta.dataVersion();
    this.timer = setInterval(() => this.refreshIfChanged(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The token for this name or id, if known (for self-service and metrics). */
  byId(id: string): KnownToken | undefined {
    for (const known of this.byHash.values()) if (known.token.id === id) return known;
    return undefined;
  }

  /**
   * Who the secret belongs to, whether or not the token is enabled: a disabled token's
   * refusals are still that token's history.
   * @throws CompanionError 401 when the secret is missing, unknown, revoked or expired.
   */
  identify(secret: string | undefined): KnownToken {
    if (secret === undefined)
      throw unauthenticated('missing token: send it as "Authorization: Bearer <token>"');
    const hash = hashSecret(secret);
    let known = this.byHash.get(hash);
    if (!known) {
      // Maybe made a moment ago by another process, between two polls.
      this.refreshIfChanged();
      known = this.byHash.get(hash);
    }
    if (!known) throw unauthenticated('invalid token');
    const { token } = known;
    if (token.revokedAt !== null) throw unauthenticated('token revoked');
    if (token.expiresAt !== null && token.expiresAt <= this.now()) throw unauthenticated('token expired');
    return known;
  }

  /**
   * A token that may be used now.
   * @throws CompanionError 401 as `identify`; 403 when the token is disabled.
   */
  authenticate(secret: string | undefined): KnownToken {
    const known = this.identify(secret);
    assertEnabled(known);
    return known;
  }
}

/** @throws CompanionError 403 when an admin disabled the token. */
export function assertEnabled(known: KnownToken): void {
  if (!known.token.enabled) throw new CompanionError('token_disabled', 403, 'token disabled');
}
