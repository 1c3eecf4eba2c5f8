/**
 * The signed-in user's tasks, newest first, each with its database's live status. The query asks
 * for every task: the main app's rules return only the reader's own (none to a guest).
 */
import { id } from '@instantdb/react';
import { useEffect, useState } from 'react';
import { DatabaseStatus } from '../../react/index.js';
import type { OperatorDb } from './operator-db.js';

interface TaskRow {
  readonly id: string;
  readonly title?: string | null;
  readonly createdAt?: string | number | null;
  readonly forkedFrom?: { task?: { title?: string | null } | null } | null;
}

export function TaskList({ db, userId, signedIn }: { db: OperatorDb; userId: string | null; signedIn: boolean }) {
  const { isLoading, error, data } = db.useQuery({
    tasks: { $: { order: { createdAt: 'desc' } }, forkedFrom: { task: {} } },
  });
  const now = useNow(1_000);
  const tasks = (data?.tasks ?? []) as readonly TaskRow[];
  let body;
  if (isLoading) body = <p className="empty muted">Loading tasks…</p>;
  else if (error)
    body = (
      <p className="form-error" role="alert">
        Could not load the tasks: {error.message}
      </p>
    );
  else if (tasks.length === 0)
    body = signedIn ? (
      <div className="empty">
        <p className="empty-title">No tasks yet</p>
        <p className="muted">Create one above and watch its database arrive, live.</p>
      </div>
    ) : (
      <div className="empty">
        <p className="empty-title">A guest sees no tasks</p>
        <p className="muted">Tasks and their databases are visible only to their owner. Sign in to see yours.</p>
      </div>
    );
  else
    body = (
      <ul className="tasks">
        {tasks.map((task) => (
          <TaskItem key={task.id} db={db} task={task} userId={userId} now={now} />
        ))}
      </ul>
    );
  return (
    <div
      className="task-list"
      data-loaded={isLoading ? undefined : 'true'}
      data-count={isLoading ? undefined : tasks.length}
      aria-busy={isLoading}
    >
      {body}
    </div>
  );
}

function TaskItem({ db, task, userId, now }: { db: OperatorDb; task: TaskRow; userId: string | null; now: number }) {
  const [problem, setProblem] = useState<string | null>(null);
  const title = task.title || 'Untitled task';
  const parent = task.forkedFrom?.task?.title;
  const run = async (what: string, write: () => Promise<unknown>) => {
    setProblem(null);
    try {
      await write();
    } catch (error) {
      setProblem(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  // A fork names an iteration of its source task: record one, and the new task forked from it.
  const fork = () => {
    const iteration = id();
    const at = Date.now();
    return db.transact([
      db.tx.iterations[iteration]!.update({ createdAt: at }).link({ task: task.id }),
      db.tx.tasks[id()]!.update({ title: `Fork of ${title}`, createdAt: at })
        .link({ owner: userId! })
        .link({ forkedFrom: iteration }),
    ]);
  };
  return (
    <li className="task" data-task-id={task.id}>
      <div className="task-main">
        <span className="task-title">{title}</span>
        <span className="task-meta">
          created {ago(task.createdAt, now)}
          {parent ? <> · forked from “{parent}”</> : null}
        </span>
        {problem ? (
          <span className="form-error" role="alert">
            {problem}
          </span>
        ) : null}
      </div>
      <div className="task-status">
        <DatabaseStatus db={db} taskId={task.id} />
      </div>
      {userId ? (
        <div className="task-actions">
          <button
            type="button"
            className="button button-quiet"
            aria-label={`Fork ${title}`}
            onClick={() => void run('Fork', fork)}
          >
            Fork
          </button>
          <button
            type="button"
            className="button button-quiet button-danger"
            aria-label={`Delete ${title}`}
            onClick={() => void run('Delete', () => db.transact(db.tx.tasks[task.id]!.delete()))}
          >
            Delete
          </button>
        </div>
      ) : null}
    </li>
  );
}

/** The current time, updated every `everyMs`: relative times stay right. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function ago(at: string | number | null | undefined, now: number): string {
  const ms = typeof at === 'number' ? at : typeof at === 'string' ? Date.parse(at) : NaN;
  if (!Number.isFinite(ms)) return 'at an unknown time';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}
