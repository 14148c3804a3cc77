/** Usage against each quota of a token, as labelled progress bars. */
import { count } from '../lib/format.js';
import { limitOf, usageOf, WINDOW_LABELS } from '../lib/token-fields.js';
import { type TokenLimits, type TokenUsage, WINDOWS } from '../lib/types.js';

interface Props {
  limits: TokenLimits | undefined;
  usage: TokenUsage | undefined;
  /** Show windows without a limit too (with their count). */
  all?: boolean;
}

function Bar({ label, used, limit }: { label: string; used: number; limit: number | null }) {
  const full = limit !== null && used >= limit;
  return (
    <div class={`quota${full ? ' full' : ''}`}>
      <div class="quota-top">
        <span class="quota-label">{label}</span>
        <span class="quota-value">
          {count(used)} {limit === null ? '· no limit' : `/ ${count(limit)}`}
        </span>
      </div>
      {limit !== null && (
        <progress
          max={Math.max(limit, 1)}
          value={Math.min(used, limit)}
          aria-label={`${label}: ${used} of ${limit}`}
        />
      )}
    </div>
  );
}

export function QuotaBars({ limits, usage, all = false }: Props) {
  const rows = WINDOWS.map((w) => ({ w, limit: limitOf(limits, w), used: usageOf(usage, w) })).filter(
    (r) => all || r.limit !== null,
  );
  const cap = limits?.maxConcurrent ?? null;
  if (rows.length === 0 && cap === null) return <span class="muted">No limits</span>;
  return (
    <div class="quotas">
      {rows.map((r) => (
        <Bar key={r.w} label={WINDOW_LABELS[r.w]} used={r.used} limit={r.limit} />
      ))}
      {(cap !== null || all) && <Bar label="Running now" used={usage?.inFlight ?? 0} limit={cap} />}
    </div>
  );
}
