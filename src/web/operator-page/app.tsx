/**
 * The operator page: sign in as one of the demo users, create tasks, and watch each one's database
 * arrive through InstantDB's sync (the `DatabaseStatus` of instant-provisioner/react). A user sees
 * only their own tasks: the main app's rules (instant.perms.ts) decide, not the page.
 */
import { useState } from 'react';
import type { OperatorDb } from './operator-db.js';
import type { DemoUser, OperatorPageConfig } from './page-config.js';
import { NewTaskForm } from './new-task-form.js';
import { TaskList } from './task-list.js';

export function App({ db, config }: { db: OperatorDb; config: OperatorPageConfig }) {
  const auth = db.useAuth();
  const connection = db.useConnectionStatus();
  const user = auth.user ?? null;
  const who = user ? config.users.find((u) => u.email === user.email) : undefined;
  return (
    <div className="page">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">instant-provisioner</span>
          <span className="brand-tag">operator app · local demo</span>
        </div>
        <nav className="topbar-links">
          <span className="connection" data-connection={connection}>
            <span className="connection-dot" aria-hidden="true" />
            {connectionLabel(connection)}
          </span>
          {config.livePageUrl ? (
            <a href={config.livePageUrl} target="_blank" rel="noreferrer">
              Operators' live page ↗
            </a>
          ) : null}
        </nav>
      </header>

      <main className="layout">
        <section className="panel main-panel" aria-labelledby="tasks-heading">
          <div className="panel-head">
            <h1 id="tasks-heading">Tasks</h1>
            {user ? (
              <Account db={db} email={user.email ?? user.id} name={who?.name} />
            ) : auth.isLoading ? null : (
              <span className="muted">Browsing as a guest</span>
            )}
          </div>
          {auth.isLoading ? (
            <p className="muted">Checking who you are…</p>
          ) : user ? (
            <NewTaskForm db={db} userId={user.id} />
          ) : (
            <SignIn db={db} users={config.users} />
          )}
          <TaskList db={db} userId={user?.id ?? null} signedIn={!!user} />
        </section>

        <aside className="panel side-panel" aria-labelledby="how-heading">
          <h2 id="how-heading">What happens</h2>
          <ol className="steps">
            <li>
              <strong>The browser creates a task</strong> in the main InstantDB app, as its owner. Nothing else: no
              provisioning call, no token.
            </li>
            <li>
              <strong>The daemon sees it</strong> through a live query, claims it (a <code>databases</code> record,
              status <code>provisioning</code>) and creates an InstantDB app through the Platform API.
            </li>
            <li>
              <strong>It records the app</strong> (status <code>ready</code>); InstantDB's sync brings the change to
              this page. No reload, no polling.
            </li>
          </ol>
          <p className="muted small">
            Each user sees only their own tasks and databases: the rules in <code>instant.perms.ts</code> decide, on the
            server. Admin tokens never reach a browser. Everything runs on a local InstantDB sandbox with the real{' '}
            <code>@instantdb/react</code> client.
          </p>
        </aside>
      </main>
    </div>
  );
}

function SignIn({ db, users }: { db: OperatorDb; users: readonly DemoUser[] }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const signIn = async (user: DemoUser) => {
    setBusy(user.email);
    setProblem(null);
    try {
      await db.auth.signInWithToken(user.token);
    } catch (error) {
      setProblem(`Could not sign in as ${user.email}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="sign-in">
      <p>Sign in as one of two demo users to create tasks. Each sees only their own.</p>
      <div className="sign-in-users">
        {users.map((user) => (
          <button
            key={user.email}
            type="button"
            className="button button-primary"
            data-email={user.email}
            disabled={busy !== null}
            onClick={() => void signIn(user)}
          >
            Sign in as {user.name}
            <span className="button-sub">{user.email}</span>
          </button>
        ))}
      </div>
      {problem ? (
        <p className="form-error" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

function Account({ db, email, name }: { db: OperatorDb; email: string; name: string | undefined }) {
  return (
    <div className="account">
      <span className="avatar" aria-hidden="true">
        {(name ?? email).slice(0, 1).toUpperCase()}
      </span>
      <span className="account-email" data-testid="signed-in-as">
        {email}
      </span>
      <button type="button" className="button button-quiet" onClick={() => void db.auth.signOut()}>
        Sign out
      </button>
    </div>
  );
}

function connectionLabel(status: string): string {
  switch (status) {
    case 'authenticated':
      return 'Live';
    case 'connecting':
    case 'opened':
      return 'Connecting…';
    case 'closed':
      return 'Offline, reconnecting…';
    case 'errored':
      return 'Connection error';
    default:
      return status;
  }
}
