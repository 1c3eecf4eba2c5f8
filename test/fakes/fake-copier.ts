import { sleep, type Clock } from '../../src/clock.js';
import type { AppAtServer, AppCopier } from '../../src/core/ports.js';
import type { AppTemplate } from '../../src/core/types.js';
import { CopyError } from '../../src/errors.js';
import type { FakePlatform } from './fake-platform.js';

/**
 * Copies between the fake platform's apps: each app holds a number of entities (`entities`), the
 * copy moves them in pages of 100 over fake time, and never duplicates (ids are kept).
 */
export class FakeCopier implements AppCopier {
  /** Entities per app id. */
  readonly entities = new Map<string, number>();
  /** Errors the next copies throw, in order. */
  readonly failures: CopyError[] = [];
  /** Fake ms per page of 100 entities. */
  pageMs = 100;
  readonly calls = { templateOf: 0, copy: 0 };

  constructor(
    private readonly platform: FakePlatform,
    private readonly clock: Clock,
  ) {}

  async templateOf(app: AppAtServer, hash: string): Promise<AppTemplate> {
    this.calls.templateOf++;
    const source = this.platform.apps.get(app.id);
    if (!source || source.deletedAt !== null) throw new CopyError('rejected', `app ${app.id} is gone`);
    return { hash, schema: source.template?.schema ?? null, perms: source.template?.perms ?? {} };
  }

  async copy(
    from: AppAtServer,
    to: AppAtServer,
    onProgress: (copied: number) => void,
    signal: AbortSignal,
  ): Promise<{ entityCount: number }> {
    this.calls.copy++;
    const total = this.entities.get(from.id) ?? 0;
    for (let copied = 0; copied < total; copied = Math.min(total, copied + 100)) {
      await sleep(this.clock, this.pageMs, signal);
      this.entities.set(to.id, Math.max(this.entities.get(to.id) ?? 0, Math.min(total, copied + 100)));
      onProgress(Math.min(total, copied + 100));
    }
    const failure = this.failures.shift();
    if (failure) throw failure;
    return { entityCount: total };
  }
}
