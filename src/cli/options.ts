/** Adds every configuration setting to a command as a flag, from config.SETTINGS. */
import { Option, type Command } from 'commander';
import { SETTINGS, flagName } from '../config.js';

export function addSettingFlags(command: Command): Command {
  for (const [key, setting] of Object.entries(SETTINGS) as Array<
    [keyof typeof SETTINGS, (typeof SETTINGS)[keyof typeof SETTINGS]]
  >) {
    const defaultText = 'default' in setting ? ` (default: ${setting.default})` : '';
    const envText = ` [env: ${setting.env.join(', ')}]`;
    command.addOption(new Option(`${flagName(key)} <value>`, `${setting.help}${defaultText}${envText}`));
  }
  return command;
}
