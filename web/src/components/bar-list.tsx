/** A ranked list with proportional bars, for the top models and tokens. */
import { plural } from '../lib/format.js';

export interface BarRow {
  key: string;
  value: number;
  note?: string;
}

interface Props {
  id: string;
  title: string;
  rows: BarRow[];
  /** Singular and plural of what is counted. */
  unit: [string, string];
}

export function BarList({ id, title, rows, unit }: Props) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <figure class="bars" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      {rows.length === 0 ? (
        <p class="muted">No requests in this period.</p>
      ) : (
        <ol>
          {rows.map((r) => (
            <li key={r.key}>
              <span class="bar-key">{r.key}</span>
              <span class="bar-track" aria-hidden="true">
                <span class="bar-fill" style={{ width: `${(r.value / max) * 100}%` }} />
              </span>
              <span class="bar-value">
                {plural(r.value, unit[0], unit[1])}
                {r.note ? <span class="muted"> · {r.note}</span> : null}
              </span>
            </li>
          ))}
        </ol>
      )}
    </figure>
  );
}
