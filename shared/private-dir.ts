// Directories and files that hold keys, secrets or the CA's records are private to their owner, as ssh demands
// of ~/.ssh: a directory we create is 0700; one that already exists with group or other permissions is
// refused with a hint instead of being chmod-ed behind the operator's back (whoever made it wider may have
// meant it, or may have been an intruder: either way the operator decides, and nothing was read or written).
import { mkdir, stat, chmod } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { HitlessError } from './errors.js';

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, '0');

/** The refusal for a directory (or file, with `chmod 600`) that group or others may use. */
export function tooOpen(path: string, st: Stats, what: string): HitlessError {
  const wanted = st.isDirectory() ? '700' : '600';
  return new HitlessError('INVALID_ARGUMENT', `${what} ${path} is accessible by group or others (mode ${octal(st.mode)}); refusing to use it`, {
    hint: `chmod ${wanted} ${path}`,
  });
}

/** Refuses `dir` unless it is a directory that only its owner can use; `what` names it in the error (e.g. "--state-dir"). */
export async function assertPrivateDir(dir: string, what: string): Promise<void> {
  const st = await stat(dir);
  if (!st.isDirectory()) throw new HitlessError('INVALID_ARGUMENT', `${what} ${dir} is not a directory`);
  if ((st.mode & 0o077) !== 0) throw tooOpen(dir, st, what);
}

/**
 * Creates `dir` (and missing parents) as 0700, or accepts an existing one that is already private (0700 or
 * narrower); an existing directory open to group or others is refused (see above).
 */
export async function ensurePrivateDir(dir: string, what = 'directory'): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask, which can only narrow it; a directory we just made is ours to set.
  if (created !== undefined) await chmod(dir, 0o700);
  else await assertPrivateDir(dir, what);
}
