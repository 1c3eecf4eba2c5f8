/**
 * What every command that talks to InstantDB does first: configuration,
 * template, logger, the provisioner with its real adapters, and the access
 * check. Problems print one line and become exit code 2.
 */
import { Provisioner, connectPorts } from '../app.js';
import { configSecrets, loadConfig, type Config, type Flags } from '../config.js';
import type { Logger } from '../core/logger.js';
import type { Telemetry } from '../core/ports.js';
import { createConfiguredLogger } from '../logger.js';
import { loadTemplate, TemplateError } from '../template/app-template.js';
import { readEnv } from './env.js';
import { EXIT } from './exit-codes.js';
import { printConfigProblems } from './process.js';

export interface Opened {
  provisioner: Provisioner;
  config: Config;
  logger: Logger;
}

/** The provisioner for `flags`, or the exit code to end with. */
export async function openProvisioner(
  flags: Flags,
  logTo: 'stdout' | 'stderr' = 'stdout',
  /** The telemetry to build the provisioner with, once the configuration is known. */
  telemetryFor: (config: Config, logger: Logger) => Telemetry | undefined = () => undefined,
  /** Secrets beyond the configuration's (another server's token) that must never appear in a log. */
  moreSecrets: readonly string[] = [],
): Promise<Opened | number> {
  let config: Config;
  try {
    config = loadConfig(readEnv(), flags);
  } catch (error) {
    return printConfigProblems(error);
  }
  let template;
  try {
    template = await loadTemplate({ schema: config.templateSchema, perms: config.templatePerms });
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    return usage(error.message);
  }
  const logger = createConfiguredLogger(config, [...configSecrets(config), ...moreSecrets], logTo);
  const telemetry = telemetryFor(config, logger);
  const provisioner = new Provisioner(config, connectPorts(config, logger, telemetry), logger, {
    template,
    ...(telemetry ? { telemetry } : {}),
  });
  try {
    await provisioner.verifyAccess();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({}, message);
    return usage(message);
  }
  return { provisioner, config, logger };
}

/** Prints one line about bad usage or configuration; returns exit code 2. */
export function usage(problem: string): number {
  process.stderr.write(`instant-provisioner: ${problem}\n`);
  return EXIT.config;
}
