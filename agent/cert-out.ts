// For workloads that are not ours (nginx, Envoy, a Go server, anything reading files): after every rotation
// publish cert, key and bundle into --cert-out as ONE unit, then run --on-rotate (as `step ca renew --exec`).
//
// Layout (the atomic writer of Kubernetes' projected volumes):
//   DIR/..gen-XXXXXX/{node.key,node.crt,ca-bundle.crt}   one directory per rotation, complete before it is used
//   DIR/..data -> ..gen-XXXXXX                            the one symlink that is swapped (rename is atomic)
//   DIR/node.key -> ..data/node.key  (and node.crt, ca-bundle.crt)   stable names, created once
// A reader that resolves `..data` once and reads the three files from that directory always gets a matching
// set: a generation directory is never written after the swap. The previous generation stays until the next
// rotation, so a reader that resolved just before a swap still finds its files; older ones are removed.
// Opening the stable names one by one is per-file atomic only: the swap can fall between two opens (react to
// the swap, or resolve once; README "--cert-out").
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, open, readdir, readlink, rename, rm, symlink, chmod, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Logger } from '../shared/log.js';
import { ensurePrivateDir, fsyncDir } from '../shared/fs-atomic.js';
import { HitlessError } from '../shared/errors.js';
import { KeyedMutex } from '../shared/keyed-mutex.js';
import { escapedPrefix } from '../shared/untrusted.js';
import { joinPem } from '../shared/pki/pem.js';
import type { StoredIdentity } from './identity-store.js';

export const CERT_OUT_FILES = { cert: 'node.crt', key: 'node.key', bundle: 'ca-bundle.crt' } as const;
/** The symlink readers resolve; swapped by rename. */
export const CERT_OUT_DATA_LINK = '..data';
const GENERATION_PREFIX = '..gen-';
const TEMP_LINK = '..data.tmp';

/** A renewal and a pushed trust bundle can install at once: publications to one directory go one at a time. */
const publishing = new KeyedMutex();

/**
 * Writes the set into a new generation directory, swaps `..data` to it, removes generations before the last.
 * Concurrent calls for one directory run in call order, so the last call's set is the one left published.
 */
export function writeCertOut(dir: string, id: StoredIdentity, log?: Logger): Promise<string> {
  return publishing.run(resolve(dir), () => publish(dir, id, log));
}

async function publish(dir: string, id: StoredIdentity, log: Logger | undefined): Promise<string> {
  await ensurePrivateDir(dir);
  const previous = await currentGeneration(dir);
  const generationPath = await mkdtemp(join(dir, GENERATION_PREFIX)); // 0700, a fresh random name
  const generation = basename(generationPath);
  try {
    await chmod(generationPath, 0o700);
    await writeNewFile(join(generationPath, CERT_OUT_FILES.key), id.keyPem, 0o600);
    await writeNewFile(join(generationPath, CERT_OUT_FILES.bundle), joinPem(id.bundle.rootsPem), 0o644);
    await writeNewFile(join(generationPath, CERT_OUT_FILES.cert), joinPem(id.chainPem), 0o644);
    await fsyncDir(generationPath);
    await replaceSymlink(dir, CERT_OUT_DATA_LINK, generation); // the moment the new set becomes visible
  } catch (err) {
    await rm(generationPath, { recursive: true, force: true });
    throw err;
  }
  for (const name of Object.values(CERT_OUT_FILES)) await ensureStableLink(dir, name);
  await fsyncDir(dir);
  const removed = await removeGenerations(dir, new Set([generation, previous].filter((g): g is string => g !== undefined)));
  log?.info('cert_out.written', { dir, serial: id.serial, generation, removedGenerations: removed });
  return generation;
}

/** The generation `..data` points at now, or undefined on a first write. Anything else at `..data` fails closed. */
async function currentGeneration(dir: string): Promise<string | undefined> {
  const link = join(dir, CERT_OUT_DATA_LINK);
  const st = await lstat(link).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) return undefined;
  if (!st.isSymbolicLink()) throw unexpected(link, 'is not a symlink');
  const target = await readlink(link);
  if (!target.startsWith(GENERATION_PREFIX) || target.includes('/')) throw unexpected(link, `points at "${escapedPrefix(target)}"`);
  return target;
}

/** Points `dir/name` at `target` in one rename (a leftover temp link from a crash is replaced). */
async function replaceSymlink(dir: string, name: string, target: string): Promise<void> {
  const tmp = join(dir, TEMP_LINK);
  await unlink(tmp).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await symlink(target, tmp);
  await rename(tmp, join(dir, name));
}

/**
 * `dir/node.key -> ..data/node.key` etc. A regular file there (the layout before generations, written by an
 * older agent) is replaced by the link in one rename, so an upgrade never leaves the name missing.
 */
async function ensureStableLink(dir: string, name: string): Promise<void> {
  const path = join(dir, name);
  const target = `${CERT_OUT_DATA_LINK}/${name}`;
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st?.isSymbolicLink() && (await readlink(path)) === target) return;
  if (st && !st.isSymbolicLink() && !st.isFile()) throw unexpected(path, 'is neither a file nor a symlink');
  await replaceSymlink(dir, name, target);
}

/** Removes generation directories not in `keep`; returns how many. Other entries of `dir` are left alone. */
async function removeGenerations(dir: string, keep: Set<string>): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.name.startsWith(GENERATION_PREFIX) || keep.has(entry.name) || !entry.isDirectory()) continue;
    await rm(join(dir, entry.name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Creates `path` (which must not exist) with exactly `mode`, writes and fsyncs it. */
async function writeNewFile(path: string, data: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed 0644
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function unexpected(path: string, what: string): HitlessError {
  return new HitlessError('INVALID_ARGUMENT', `--cert-out: ${path} ${what}; refusing to touch it`, {
    hint: 'point --cert-out at a directory used only by this agent (or remove that entry)',
  });
}

/**
 * Runs the operator's reload command through the shell; its failure is logged, never fatal. The command does
 * not inherit our own HITLESS_* variables (the join token may be one of them), only the ones passed here.
 */
export function runOnRotate(command: string, env: Record<string, string>, log: Logger): Promise<number | null> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HITLESS_')));
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'inherit', 'inherit'], env: { ...inherited, ...env } });
    child.on('error', (err) => {
      log.error('on_rotate.failed', { command, err });
      resolve(null);
    });
    child.on('exit', (code) => {
      (code === 0 ? log.info : log.warn)('on_rotate.exited', { command, code });
      resolve(code);
    });
  });
}
