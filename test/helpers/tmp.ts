import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp dir (short path: Unix socket paths are limited to ~107 bytes). */
export async function tmpDir(): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'hl-'));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function writePassphrase(dir: string, passphrase = 'test passphrase, not secret'): Promise<string> {
  const file = join(dir, 'passphrase');
  await writeFile(file, passphrase + '\n', { mode: 0o600 });
  return file;
}
