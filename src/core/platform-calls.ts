/**
 * The Platform API as both create paths call it: every request under the request deadline, and
 * every create through the one gate all creates pass (a 429 paces everyone, a global refusal
 * blocks everyone) and the concurrency cap, and only while the sender's lease outlives it.
 */
import type PQueue from 'p-queue';
import { AbortedError, type Clock } from '../clock.js';
import { PlatformError } from '../errors.js';
import type { CreateGate } from './create-gate.js';
import { withDeadline } from './deadline.js';
import { leaseCoversCreate, type CreateLeaseSettings } from './lease.js';
import type { Logger } from './logger.js';
import { noTelemetry, type PlatformClient, type Telemetry, type TemplateClient } from './ports.js';
import type { DatabaseRecord } from './types.js';

export interface PlatformCallsDeps {
  platform: PlatformClient & TemplateClient;
  gate: CreateGate;
  /** Caps concurrent Platform creates. */
  createSlots: PQueue;
  clock: Clock;
  telemetry?: Telemetry;
}

/** What one create came to. */
export type CreateAttempt<T> =
  | { kind: 'created'; value: T; sentAt: number }
  | { kind: 'failed'; error: PlatformError; sentAt: number }
  /** Waited so long for a slot that the lease ran short: nothing was sent. */
  | { kind: 'not-sent' };

export class PlatformCalls {
  constructor(
    readonly deps: PlatformCallsDeps,
    readonly settings: CreateLeaseSettings,
  ) {}

  get platform(): PlatformClient & TemplateClient {
    return this.deps.platform;
  }

  /**
   * Sends one create for `record` under the gate and the cap. `sending(mayLandUntil)` is told just
   * before it goes: from then on an app may exist, and the request may still land until then.
   */
  create<T>(
    record: DatabaseRecord,
    send: (signal: AbortSignal) => Promise<T>,
    sending: (mayLandUntil: number) => void,
    signal: AbortSignal,
  ): Promise<CreateAttempt<T>> {
    const { clock, gate, createSlots } = this.deps;
    const telemetry = this.deps.telemetry ?? noTelemetry;
    const { requestTimeoutMs, settleMarginMs } = this.settings;
    // No signal for the slot itself: p-queue would abandon a create already running,
    // and a shutdown must let creates in flight finish and be recorded.
    return createSlots.add(async (): Promise<CreateAttempt<T>> => {
      if (signal.aborted) throw new AbortedError();
      const probe = await gate.enter(signal);
      const sentAt = clock.now();
      if (!leaseCoversCreate(record, sentAt, this.settings)) {
        gate.withdrawn(probe);
        return { kind: 'not-sent' };
      }
      sending(sentAt + requestTimeoutMs + settleMarginMs);
      telemetry.createsInFlight(createSlots.pending);
      try {
        const value = await this.call(send);
        gate.succeeded(probe);
        return { kind: 'created', value, sentAt };
      } catch (error) {
        const failure = asPlatformError(error);
        gate.failed(failure, probe);
        return { kind: 'failed', error: failure, sentAt };
      } finally {
        telemetry.createsInFlight(createSlots.pending - 1);
      }
    });
  }

  /** Runs one request under the request deadline. */
  call<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(
      this.deps.clock,
      this.settings.requestTimeoutMs,
      operation,
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    );
  }

  /** Deletes an app; one already gone counts as deleted. */
  deleteApp(appId: string): Promise<void> {
    return this.call((signal) => this.deps.platform.deleteApp(appId, signal));
  }

  /** Best-effort delete of an app we made but could not keep; says so when it fails. */
  async discard(appId: string, log: Logger, fallback: string): Promise<void> {
    try {
      await this.deleteApp(appId);
    } catch (error) {
      log.warn({ appId, error: errorText(error) }, `could not delete the app; ${fallback}`);
    }
  }
}

export function asPlatformError(error: unknown): PlatformError {
  if (error instanceof PlatformError) return error;
  return new PlatformError('network', errorText(error), { cause: error });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
