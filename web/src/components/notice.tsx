/** Messages after an action: errors are announced at once, successes politely. */
export function ErrorNote({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p class="note error" role="alert">
      {error}
    </p>
  );
}

export function OkNote({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p class="note ok" role="status">
      {message}
    </p>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}
