'use client';
/**
 * `<DatabaseStatus db={db} taskId={…} />`: the compact indicator of a task's database, after the
 * plan's `DatabaseStatusCompact`. A spinner while it is being made; once ready, a real button with
 * its name that copies the app id, and a tooltip (on hover and on focus, dismissed with Escape)
 * with the name and the app id; a clear failed or refused state with the error and, for
 * `failed`, a "Try again" button that asks the daemon for another try.
 *
 * Unstyled: it renders class names (`ip-database-status`, `ip-database-status__…`) and data
 * attributes (`data-status`, `data-copied`, `data-retry`) and no styles, except that its
 * announcements for screen readers are visually hidden. `instant-provisioner/react/styles.css`
 * styles it. Status changes are announced through an `aria-live` region.
 */
import { useEffect, useId, useState, type CSSProperties, type ReactNode } from 'react';
import type { ProvisionerSchemaDef } from './schema-types.js';
import { requestDatabaseRetry, type TaskDatabaseWriter } from './request-retry.js';
import { useTaskDatabase, type TaskDatabase, type TaskDatabaseReader } from './use-task-database.js';

/** Props of `DatabaseStatus`. */
export interface DatabaseStatusProps<Schema extends ProvisionerSchemaDef> {
  /** The app's own `@instantdb/react` database (`init({ appId, schema, … })`). */
  readonly db: TaskDatabaseReader<Schema> & TaskDatabaseWriter<Schema>;
  /** The task; null or undefined renders the loading state and sends nothing. */
  readonly taskId: string | null | undefined;
  /** Added to the root element's class. */
  readonly className?: string;
  /** Called after the app id was copied to the clipboard. */
  readonly onCopy?: (appId: string) => void;
}

const BLOCK = 'ip-database-status';
/** How long "Copied" shows. */
const COPIED_MS = 2_000;
/** The daemon honours a retry request at most once a minute: the button waits as long. */
const RETRY_WAIT_MS = 60_000;

type CopyState = 'idle' | 'copied' | 'failed';
type RetryState =
  { readonly kind: 'idle' | 'sending' | 'sent' } | { readonly kind: 'refused'; readonly message: string };

// Announcements are for screen readers only: hidden from view without `display: none`.
const VISUALLY_HIDDEN: CSSProperties = {
  position: 'absolute',
  width: 1,
  height: 1,
  margin: -1,
  padding: 0,
  border: 0,
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
};

/** The status of `taskId`'s database, live. */
export function DatabaseStatus<Schema extends ProvisionerSchemaDef>(props: DatabaseStatusProps<Schema>) {
  const { db, taskId, className, onCopy } = props;
  const database = useTaskDatabase(db, taskId);
  const { status, appId } = database;
  const tooltipId = useId();
  const [tooltipOpen, setTooltipOpen] = useState(false);
  const [copy, setCopy] = useState<CopyState>('idle');
  const [retryState, setRetry] = useState<RetryState>({ kind: 'idle' });
  // A request belongs to the failed state it was made in; any other status ends it (the effect below resets it).
  const retry: RetryState = status === 'failed' ? retryState : { kind: 'idle' };

  useEffect(() => {
    if (copy === 'idle') return;
    const timer = setTimeout(() => setCopy('idle'), COPIED_MS);
    return () => clearTimeout(timer);
  }, [copy]);
  // A new status ends a retry request (it was honoured, or something else happened).
  useEffect(() => setRetry({ kind: 'idle' }), [status, taskId]);
  useEffect(() => {
    if (retryState.kind !== 'sent') return;
    const timer = setTimeout(() => setRetry({ kind: 'idle' }), RETRY_WAIT_MS);
    return () => clearTimeout(timer);
  }, [retryState]);

  const copyAppId = async () => {
    if (!appId) return;
    try {
      await navigator.clipboard.writeText(appId);
      setCopy('copied');
      onCopy?.(appId);
    } catch {
      setCopy('failed');
    }
  };
  const askRetry = async () => {
    if (!taskId) return;
    setRetry({ kind: 'sending' });
    try {
      await requestDatabaseRetry(db, taskId);
      setRetry({ kind: 'sent' });
    } catch (error) {
      setRetry({ kind: 'refused', message: error instanceof Error ? error.message : String(error) });
    }
  };

  let body: ReactNode;
  if (database.isLoading || status === 'none' || status === 'provisioning' || status === 'copying') {
    body = <Working database={database} />;
  } else if (status === 'ready' || status === 'retained') {
    body = (
      <span className={`${BLOCK}__anchor`} onKeyDown={(event) => event.key === 'Escape' && setTooltipOpen(false)}>
        <button
          type="button"
          className={`${BLOCK}__copy`}
          aria-describedby={tooltipId}
          aria-label={`Database ${database.name ?? ''}${status === 'retained' ? ' (retained)' : ''}: copy its app id`}
          onClick={() => void copyAppId()}
          onMouseEnter={() => setTooltipOpen(true)}
          onMouseLeave={() => setTooltipOpen(false)}
          onFocus={() => setTooltipOpen(true)}
          onBlur={() => setTooltipOpen(false)}
        >
          <span className={`${BLOCK}__icon`} aria-hidden="true" />
          <span className={`${BLOCK}__name`}>{database.name}</span>
          {status === 'retained' ? <span className={`${BLOCK}__label`}> (retained)</span> : null}
        </button>
        <span role="tooltip" id={tooltipId} className={`${BLOCK}__tooltip`} hidden={!tooltipOpen}>
          <span className={`${BLOCK}__tooltip-name`}>{database.name}</span>{' '}
          <span className={`${BLOCK}__tooltip-app-id`}>{appId}</span>{' '}
          <span className={`${BLOCK}__tooltip-hint`}>
            {copy === 'copied'
              ? 'Copied'
              : copy === 'failed'
                ? 'Could not copy; select the id above'
                : 'Click to copy the app id'}
          </span>
        </span>
      </span>
    );
  } else if (status === 'failed' || status === 'refused') {
    body = (
      <>
        <span className={`${BLOCK}__icon`} aria-hidden="true" />
        <span className={`${BLOCK}__label`}>
          {status === 'failed' ? 'Database failed' : 'Database refused'}
          {database.name ? ` (${database.name})` : ''}
        </span>{' '}
        <span className={`${BLOCK}__error`}>{database.error ?? 'no reason recorded'}</span>
        {status === 'failed' ? (
          <>
            {' '}
            <button
              type="button"
              className={`${BLOCK}__retry`}
              disabled={retry.kind === 'sending' || retry.kind === 'sent'}
              onClick={() => void askRetry()}
            >
              {retry.kind === 'sending' ? 'Asking…' : retry.kind === 'sent' ? 'Retry requested' : 'Try again'}
            </button>
            {retry.kind === 'refused' ? (
              <span className={`${BLOCK}__retry-error`}> Could not ask for another try: {retry.message}</span>
            ) : null}
          </>
        ) : null}
      </>
    );
  } else {
    body = (
      <>
        <span className={`${BLOCK}__icon`} aria-hidden="true" />
        <span className={`${BLOCK}__label`}>Detached</span> <span className={`${BLOCK}__name`}>{database.name}</span>
      </>
    );
  }

  return (
    <span
      className={className ? `${BLOCK} ${className}` : BLOCK}
      data-status={database.isLoading ? 'loading' : status}
      data-copied={copy === 'idle' ? undefined : copy}
      data-retry={retry.kind === 'idle' ? undefined : retry.kind}
      aria-busy={database.isLoading || status === 'provisioning' || status === 'copying' || undefined}
    >
      {body}
      <span className={`${BLOCK}__announce`} aria-live="polite" aria-atomic="true" style={VISUALLY_HIDDEN}>
        {announcement(database, copy)}
      </span>
    </span>
  );
}

/** The spinner, and a copy's progress. */
function Working({ database }: { database: TaskDatabase }) {
  const { status, progress } = database;
  const label = database.isLoading
    ? 'Loading…'
    : status === 'copying'
      ? 'Copying data…'
      : status === 'provisioning'
        ? 'Provisioning…'
        : 'Waiting for a database…';
  return (
    <>
      <span className={`${BLOCK}__spinner`} aria-hidden="true" />
      <span className={`${BLOCK}__label`}>{label}</span>
      {progress ? (
        <>
          {' '}
          <progress
            className={`${BLOCK}__progress`}
            max={progress.total}
            value={progress.copied}
            aria-label="Copied entities"
          />{' '}
          <span className={`${BLOCK}__progress-text`}>{Math.floor(progress.fraction * 100)}%</span>
        </>
      ) : null}
    </>
  );
}

/** What a screen reader hears when the status changes. */
export function announcement(database: TaskDatabase, copy: CopyState): string {
  if (copy === 'copied') return `App id ${database.appId} copied`;
  if (copy === 'failed') return 'Could not copy the app id';
  const name = database.name ? ` ${database.name}` : '';
  if (database.isLoading) return '';
  switch (database.status) {
    case 'none':
      return 'Waiting for a database';
    case 'provisioning':
      return `Provisioning database${name}`;
    case 'copying':
      return `Copying data into database${name}${database.progress ? `: ${Math.floor(database.progress.fraction * 100)}%` : ''}`;
    case 'ready':
      return `Database${name} is ready`;
    case 'failed':
      return `Database${name} failed: ${database.error ?? 'no reason recorded'}`;
    case 'refused':
      return `Database refused: ${database.error ?? 'no reason recorded'}`;
    case 'detached':
      return `Database${name} is detached`;
    case 'retained':
      return `Database${name} is retained`;
  }
}
