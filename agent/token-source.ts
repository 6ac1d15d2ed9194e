// Where `agent run` gets its join token, keeping it out of places others can read:
//  - --token-file <file> (first line), or --token-file - (first line of stdin): not in argv, so not in `ps`;
//  - HITLESS_JOIN_TOKEN: read once, then deleted from this process's environment, so no child (--on-rotate)
//    inherits it (agent/cert-out.ts also passes no HITLESS_* variable of ours to the child, a second guard);
//  - --token <token>: still accepted, with a warning: argv is world-readable (/proc/<pid>/cmdline) until the
//    agent overwrites it at startup (scrubArgv), and it lands in shell history.
// Errors never quote the token or the file's content.
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { HitlessError, invalidArgument } from '../shared/errors.js';

export const TOKEN_ENV = 'HITLESS_JOIN_TOKEN';
/** A token is ~80 characters; a token file or stdin larger than this is not a token file. */
export const MAX_TOKEN_INPUT_BYTES = 4096;

export type TokenSource = 'argv' | 'file' | 'stdin' | 'env';

export interface TokenInput {
  token?: string;
  source?: TokenSource;
  /** Things the operator should know (a token file readable by others). */
  warnings: string[];
}

function firstLine(text: string, where: string): string {
  const line = text.split(/\r?\n/, 1)[0]!.trim();
  if (!line) throw invalidArgument(`${where} holds no join token (its first line is empty)`, "put the token from 'ca join-token worker' on its first line");
  return line;
}

async function readBounded(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new HitlessError('INVALID_ARGUMENT', `cannot read the token file ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause,
      hint: 'check --token-file (a path, or - for stdin)',
    });
  }
  try {
    const buf = Buffer.alloc(MAX_TOKEN_INPUT_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_TOKEN_INPUT_BYTES) throw invalidArgument(`the token file ${path} is larger than ${MAX_TOKEN_INPUT_BYTES} bytes: not a token file`);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function readStdin(stdin: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.length > MAX_TOKEN_INPUT_BYTES) throw invalidArgument(`stdin (--token-file -) is larger than ${MAX_TOKEN_INPUT_BYTES} bytes: not a token`);
    if (text.includes('\n')) break; // the first line is all we need; the writer may keep stdin open
  }
  return text;
}

/**
 * Resolves the join token from the flags and the environment, and removes HITLESS_JOIN_TOKEN from `env` in
 * every case (even when a flag wins), so that it never reaches a child process.
 */
export async function readJoinToken(src: { flag?: string; file?: string; env: NodeJS.ProcessEnv; stdin: Readable }): Promise<TokenInput> {
  const fromEnv = src.env[TOKEN_ENV];
  delete src.env[TOKEN_ENV];
  if (src.flag !== undefined && src.file !== undefined) {
    throw invalidArgument('--token and --token-file are mutually exclusive', 'use --token-file (or HITLESS_JOIN_TOKEN): --token shows the token in ps');
  }
  const warnings: string[] = [];
  if (src.flag !== undefined) return { token: firstLine(src.flag, '--token'), source: 'argv', warnings };
  if (src.file === '-') return { token: firstLine(await readStdin(src.stdin), 'stdin (--token-file -)'), source: 'stdin', warnings };
  if (src.file !== undefined) {
    const mode = (await stat(src.file).catch(() => undefined))?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) {
      warnings.push(`the token file ${src.file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return { token: firstLine(await readBounded(src.file), `the token file ${src.file}`), source: 'file', warnings };
  }
  if (fromEnv !== undefined && fromEnv.trim()) return { token: firstLine(fromEnv, TOKEN_ENV), source: 'env', warnings };
  return { warnings };
}

/** The warning for --token, for stderr and the log. */
export const ARGV_TOKEN_WARNING =
  `--token puts the join token in the process list and shell history; use --token-file <file>, --token-file - (stdin) or ${TOKEN_ENV}`;

/**
 * Overwrites this process's command line as `ps` and /proc/<pid>/cmdline show it, with the token replaced.
 * (Node's process.title rewrites the original argv memory on Linux.) Before this runs, the token was visible.
 */
export function scrubArgv(token: string, argv: readonly string[] = process.argv): void {
  const redacted = argv.map((a) => (a === token ? '<redacted>' : a.startsWith('--token=') ? '--token=<redacted>' : a));
  process.title = redacted.join(' ');
}
