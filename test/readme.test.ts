// The README shows `weir explain` at work; those examples are run here and
// must print exactly what the README says, so the docs cannot drift from
// the code. Generated request ids (UUIDs) are the one thing compared loosely.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runCli } from './helpers/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Each fenced block that starts with "$ npx weir explain ...": the command's arguments and the output shown. */
function explainExamples(): Array<{ command: string; args: string[]; output: string }> {
  const examples = [];
  for (const block of README.matchAll(/```\n(\$ npx weir explain [^\n]*)\n([\s\S]*?)```/g)) {
    const command = block[1]!;
    examples.push({ command, args: shellWords(command.slice('$ npx weir '.length)), output: block[2]!.trimEnd() });
  }
  return examples;
}

/** Splits a command line the way a shell would for plain words and single-quoted ones. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]!);
}

describe('the README', () => {
  const examples = explainExamples();

  it('has explain examples to check', () => {
    assert.ok(examples.length >= 2, `found ${examples.length}`);
  });

  for (const example of examples) {
    it(`shows what ${example.command.slice(2)} really prints`, async () => {
      const result = await runCli(example.args, 10_000, ROOT);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trimEnd().replace(UUID, '<uuid>'), example.output.replace(UUID, '<uuid>'));
    });
  }
});
