// Crash-safe file writes: write a temp file beside the target, fsync it, rename over the target, fsync the
// directory. A crash at any instant leaves either the old or the new content, never a torn file.
import { open, rename, unlink, chmod } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const TEMP_PREFIX = '.tmp-';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to a fresh temp file in `path`'s directory with `mode`, fsyncs it, returns the temp path. */
export async function writeTempFile(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const tmp = join(dirname(path), `${TEMP_PREFIX}${basename(path)}.${randomBytes(4).toString('hex')}`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  await chmod(tmp, mode); // the umask may have narrowed or (for 0644) widened nothing; make it exact
  return tmp;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = await writeTempFile(path, data, mode);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dirname(path));
}

// Creates a 0700 directory or accepts a private one; refuses a wider existing one (shared/private-dir.ts).
export { ensurePrivateDir } from './private-dir.js';
