/**
 * Text for a PostgreSQL text column: PostgreSQL cannot hold the NUL character that a
 * prompt, an answer or a header may carry, so it becomes U+FFFD (the replacement
 * character). JSON text needs nothing: JSON.stringify writes NUL as the escape \u0000.
 */
export function pgText(value: string): string;
export function pgText(value: string | null | undefined): string | null;
export function pgText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}
