// For the config tests: YAML from lines, and the messages a bad file gets.
import assert from 'node:assert/strict';
import { loadConfigText } from './load.ts';
import { ConfigError } from './types.ts';

export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The messages of the ConfigError that loading `text` as `file` throws; fails the test when it loads. */
export function issuesIn(text: string, file = 'weir.yaml'): string[] {
  try {
    loadConfigText(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  assert.fail('the config loaded, but issues were expected');
}
