/**
 * What `/admin` shows while no admin account exists: there is nothing to sign in to yet,
 * so instead of a sign-in form it says where the one-time setup link is (the line
 * `serve` printed when it started) and how to create the first owner from the command line.
 */
export function NoAdminPage() {
  return (
    <main id="main" class="center">
      <section class="card narrow" aria-labelledby="no-admin-title">
        <h1 id="no-admin-title">No admin account yet</h1>
        <p>
          The first owner is created through a one-time setup link. The companion printed it when it started
          (the output of <code>ollama-companion serve</code>, or the service’s log), on a line that reads:
        </p>
        <pre class="command">
          <code>Create the first owner within an hour at: http://…/admin/setup#…</code>
        </pre>
        <p>
          Open that link. It lasts an hour from the start; restart the companion for a new one. Or create the
          first owner on the machine, from the command line:
        </p>
        <pre class="command">
          <code>npx ollama-companion admin create --username NAME</code>
        </pre>
        <p class="muted">Then reload this page to sign in.</p>
      </section>
    </main>
  );
}
