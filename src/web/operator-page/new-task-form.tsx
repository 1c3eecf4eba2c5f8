/** Creating a task, as a browser of the operator app does: the task and its owner, nothing more. */
import { id } from '@instantdb/react';
import { useState, type FormEvent } from 'react';
import type { OperatorDb } from './operator-db.js';

export function NewTaskForm({ db, userId }: { db: OperatorDb; userId: string }) {
  const [title, setTitle] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const text = title.trim() || 'Untitled task';
    setBusy(true);
    setProblem(null);
    try {
      // The database is the daemon's job: the browser writes only the task and its owner.
      await db.transact(db.tx.tasks[id()]!.update({ title: text, createdAt: Date.now() }).link({ owner: userId }));
      setTitle('');
    } catch (error) {
      setProblem(`The task was not created: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="new-task" onSubmit={(event) => void submit(event)}>
      <label htmlFor="new-task-title" className="visually-hidden">
        Task title
      </label>
      <input
        id="new-task-title"
        name="title"
        className="input"
        placeholder="What should the new task do?"
        autoComplete="off"
        value={title}
        onChange={(event) => setTitle(event.target.value)}
      />
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create task'}
      </button>
      {problem ? (
        <p className="form-error" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  );
}
