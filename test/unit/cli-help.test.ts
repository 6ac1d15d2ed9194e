// Every command and subcommand of `ca` and `agent` answers --help (exit code 0, a usage text naming it), and
// every long flag those helps list is in the README's "CLI reference" section: a flag added without its doc
// fails here with its command and name. In-process, on the real command trees (ca/cli.ts, agent/cli.ts):
// nothing runs but commander's help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { reportError } from '../../shared/cli.js';
import { program as caProgram } from '../../ca/cli.js';
import { program as agentProgram } from '../../agent/cli.js';

interface Answer {
  path: string[];
  exitCode: number;
  out: string;
}

/** Every command of the tree, as the words that name it after the program (the program itself: []). */
function commandPaths(cmd: Command, path: string[] = []): { cmd: Command; path: string[] }[] {
  const own = cmd.commands.filter((c) => c.name() !== 'help');
  return [{ cmd, path }, ...own.flatMap((c) => commandPaths(c, [...path, c.name()]))];
}

/** Runs `<name> <path…> --help` as the CLI does (shared/cli.ts maps the outcome to the exit code), capturing what it writes. */
async function askHelp(name: string, program: Command, path: string[]): Promise<Answer> {
  let out = '';
  for (const { cmd } of commandPaths(program)) {
    // Settings are copied to subcommands when they are made: apply them to every command of the tree.
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  }
  let exitCode = 0;
  try {
    await program.parseAsync(['node', name, ...path, '--help']);
    exitCode = -1; // --help must end the parse: reaching an action would run the command
  } catch (err) {
    assert.ok(err instanceof CommanderError, `${name} ${path.join(' ')} --help threw ${String(err)}`);
    exitCode = reportError(name, err, false);
  }
  return { path, exitCode, out };
}

/** Long flags in the Options part of a help text (`  -q, --quiet  …`, `  --state-dir <dir>  …`). */
function listedFlags(help: string): string[] {
  const options = help.split(/^Options:$/m)[1]?.split(/^Commands:$/m)[0] ?? '';
  return [...options.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!).filter((f) => f !== '--help');
}

const CLIS = [
  { name: 'ca', program: caProgram },
  { name: 'agent', program: agentProgram },
];

const answers: { name: string; answer: Answer }[] = [];

for (const { name, program } of CLIS) {
  test(`every \`${name}\` command answers --help with exit 0 and its usage`, async () => {
    const paths = commandPaths(program).map((c) => c.path);
    assert.ok(paths.length > 2, `${name} has commands`);
    for (const path of paths) {
      const answer = await askHelp(name, program, path);
      const label = [name, ...path, '--help'].join(' ');
      assert.equal(answer.exitCode, 0, `${label}: exit ${answer.exitCode}\n${answer.out}`);
      assert.match(answer.out, new RegExp(`^Usage: ${[name, ...path].join(' ')}\\b`), `${label} prints its usage`);
      assert.match(answer.out, /^Options:$/m, `${label} lists its options`);
      answers.push({ name, answer });
    }
  });
}

test('every long flag a --help lists is in the README CLI reference', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const reference = readme.split(/^## CLI reference$/m)[1]?.split(/^## /m)[0];
  assert.ok(reference, 'README has a "## CLI reference" section');
  assert.ok(answers.length > 0, 'the --help tests ran first');
  const missing = new Set<string>();
  for (const { name, answer } of answers) {
    for (const flag of listedFlags(answer.out)) {
      // Whole flag only: `--etcd` is not documented by `--etcd-prefix`.
      if (!new RegExp(`${flag}(?![a-z0-9-])`).test(reference)) missing.add(`${[name, ...answer.path].join(' ')} ${flag}`);
    }
  }
  assert.deepEqual([...missing], [], 'flags listed by --help but missing from the README CLI reference');
});
