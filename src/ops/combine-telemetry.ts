/** One Telemetry that tells several sinks (metrics and the live page) the same things. */
import type { Telemetry } from '../core/ports.js';

export function combineTelemetry(...sinks: Telemetry[]): Telemetry {
  return {
    platformRequest: (operation, outcome, durationMs) => {
      for (const sink of sinks) sink.platformRequest(operation, outcome, durationMs);
    },
    createsInFlight: (count) => {
      for (const sink of sinks) sink.createsInFlight(count);
    },
    databaseReady: (event) => {
      for (const sink of sinks) sink.databaseReady(event);
    },
    orphanDeleted: (appId) => {
      for (const sink of sinks) sink.orphanDeleted(appId);
    },
    gateChanged: (state) => {
      for (const sink of sinks) sink.gateChanged(state);
    },
    subscriptionChanged: (name, open) => {
      for (const sink of sinks) sink.subscriptionChanged(name, open);
    },
    resubscribed: (name) => {
      for (const sink of sinks) sink.resubscribed(name);
    },
    databaseCounts: (counts, backups) => {
      for (const sink of sinks) sink.databaseCounts(counts, backups);
    },
    mainAppWrites: (writes, transactions) => {
      for (const sink of sinks) sink.mainAppWrites(writes, transactions);
    },
    statusChanged: (from, to) => {
      for (const sink of sinks) sink.statusChanged(from, to);
    },
    createPath: (path) => {
      for (const sink of sinks) sink.createPath(path);
    },
    tasksStuck: (count) => {
      for (const sink of sinks) sink.tasksStuck(count);
    },
  };
}
