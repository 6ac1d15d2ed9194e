// Detecting a damaged CA store before using it, and without changing it.
//
// LevelDB, as classic-level builds it, runs without paranoid checks (the option is not exposed): measured on
// this store, one flipped byte in a .log file makes the next open drop the rest of that log block (1,824 bytes,
// 4 of 6 node records), note it only in store/LOG ("dropping 1824 bytes; Corruption: checksum mismatch"), and
// delete the damaged log, so the loss becomes permanent; a missing CURRENT silently creates an empty store.
// So the store checks itself:
//   - every write batch also writes `integrity/head` = { seq, count, digest }: a commit counter, the number
//     of records and an order-independent digest of all of them (XOR of SHA-256 over sublevel, key and the
//     exact stored value), so a record lost or altered anywhere shows as a mismatch;
//   - after each durable batch the same head goes to store/hitless-head.json (outside LevelDB), so losing the
//     *last* batches (which leaves a consistent but older store) shows as "the store ends before the head file";
//   - at start, `ca serve` opens a *copy* of the store (small files copied, immutable tables hard-linked, in a
//     sibling temp directory), lets LevelDB recover the copy, reads the copy's LOG for dropped bytes, decodes
//     every record and recomputes the digest. Only a store that passes is opened for real: a damaged one is
//     refused with the file to blame and left byte-for-byte as it was.
// The head file is written with a plain write after each batch (no fsync: its own fsync would double the cost
// of every issuance). It survives a process crash (page cache); after an OS crash it may lag the store, which
// is accepted (head file behind the store is fine, ahead of it is loss).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Level } from 'level';
import { HitlessError } from '../shared/errors.js';
import { escapedPrefix } from '../shared/untrusted.js';

export const TRACKED = ['nodes', 'certs', 'meta'] as const;
export type Tracked = (typeof TRACKED)[number];
export const HEAD_FILE = 'hitless-head.json';
const HEAD_FILE_BYTES = 256;
const COPY_PREFIX = '.store-check-';

export interface Head {
  seq: number;
  count: number;
  digest: string;
}

export const recordHash = (sub: Tracked, key: string, raw: string): Buffer =>
  createHash('sha256').update(`${sub}\0${key}\0`).update(raw).digest();

/** The multiset digest: XOR of record hashes (its own inverse, so a removal undoes an addition) and a count. */
export class SetDigest {
  #acc = Buffer.alloc(32);
  count = 0;
  add(h: Buffer): void {
    for (let i = 0; i < 32; i++) this.#acc[i]! ^= h[i]!;
    this.count++;
  }
  remove(h: Buffer): void {
    for (let i = 0; i < 32; i++) this.#acc[i]! ^= h[i]!;
    this.count--;
  }
  clone(): SetDigest {
    const c = new SetDigest();
    c.#acc = Buffer.from(this.#acc);
    c.count = this.count;
    return c;
  }
  hex(): string {
    return this.#acc.toString('hex');
  }
}

export const storeCorrupt = (storeDir: string, what: string, cause?: unknown) =>
  new HitlessError('STORE_CORRUPT', `the CA store ${storeDir} is damaged: ${what}; refusing to start (nothing was changed)`, {
    cause,
    hint: `restore ${storeDir} from a backup (the whole directory, ${HEAD_FILE} included) and start again`,
  });

export const storeLocked = (storeDir: string, cause?: unknown) =>
  new HitlessError('STORE_LOCKED', `the CA state in ${storeDir} is in use by another process`, {
    cause,
    hint: "another 'ca serve' runs on this state dir; use the admin commands (ca nodes, ca join-token ...) against it",
  });

// ---- the head file -------------------------------------------------------------------------------------

export type HeadFileContent = Head | undefined | 'unreadable';

export async function readHeadFile(storeDir: string): Promise<HeadFileContent> {
  let text: string;
  try {
    text = await readFile(join(storeDir, HEAD_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return 'unreadable';
  }
  try {
    const h = JSON.parse(text) as Partial<Head>;
    if (Number.isSafeInteger(h.seq) && Number.isSafeInteger(h.count) && typeof h.digest === 'string') return h as Head;
  } catch {
    /* falls through */
  }
  return 'unreadable';
}

/** store/hitless-head.json, kept open; rewritten in place (fixed size) after every durable batch. */
export class HeadFile {
  private constructor(private fd: number | undefined) {}

  static open(storeDir: string): HeadFile {
    const path = join(storeDir, HEAD_FILE);
    try {
      return new HeadFile(openSync(path, 'r+'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return new HeadFile(openSync(path, 'wx+', 0o600));
    }
  }

  write(head: Head): void {
    if (this.fd === undefined) return;
    const bytes = Buffer.alloc(HEAD_FILE_BYTES, 0x20);
    bytes.write(JSON.stringify(head));
    bytes[HEAD_FILE_BYTES - 1] = 0x0a;
    writeSync(this.fd, bytes, 0, bytes.length, 0);
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---- reading and checking a store ----------------------------------------------------------------------

export interface ScannedNode<T> {
  record: T;
  hash: Buffer;
}

export interface Scan {
  nodes: Map<string, ScannedNode<Record<string, unknown>>>;
  meta: Map<string, Buffer>;
  digest: SetDigest;
  head: Head | undefined;
  /** Records that do not decode or do not have their shape (first few). */
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a record of `sub` must look like to be used; undefined when it does. */
function shapeProblem(sub: Tracked, key: string, v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (sub === 'nodes' && (v.nodeId !== key || (v.role !== 'worker' && v.role !== 'manager') || typeof v.serial !== 'string')) return 'not a node record';
  if (sub === 'certs' && (v.serial !== key || typeof v.nodeId !== 'string' || typeof v.notAfter !== 'string')) return 'not a certificate record';
  if (sub === 'meta' && key === 'tokens' && (typeof v.worker !== 'string' || typeof v.manager !== 'string')) return 'not the join secrets';
  return undefined;
}

/** Reads, decodes and hashes every tracked record of an open database. */
export async function scanRecords(db: Level<string, unknown>): Promise<Scan> {
  const scan: Scan = { nodes: new Map(), meta: new Map(), digest: new SetDigest(), head: undefined, problems: [] };
  for (const sub of TRACKED) {
    const view = db.sublevel<string, string>(sub, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    for await (const [key, raw] of view.iterator()) {
      const hash = recordHash(sub, key, raw);
      scan.digest.add(hash);
      let value: unknown;
      let problem: string | undefined;
      try {
        value = JSON.parse(raw);
        problem = shapeProblem(sub, key, value);
      } catch {
        problem = 'does not decode as JSON';
      }
      if (problem) {
        if (scan.problems.length < 3) scan.problems.push(`record ${sub}/${escapedPrefix(key)} ${problem}: ${escapedPrefix(raw)}`);
        continue;
      }
      if (sub === 'nodes') scan.nodes.set(key, { record: value as Record<string, unknown>, hash });
      if (sub === 'meta') scan.meta.set(key, hash);
    }
  }
  const headRaw = await db.sublevel<string, string>('integrity', { valueEncoding: 'utf8' }).get('head');
  if (headRaw !== undefined) {
    try {
      scan.head = JSON.parse(headRaw) as Head;
    } catch {
      scan.problems.push(`the integrity record does not decode: ${escapedPrefix(headRaw)}`);
    }
  }
  return scan;
}

/** Lines where LevelDB's recovery dropped data (it goes on without paranoid checks, and only says so in LOG). */
export async function droppedData(levelDir: string, shownAs: string): Promise<string[]> {
  const log = await readFile(join(levelDir, 'LOG'), 'utf8').catch(() => '');
  return log
    .split('\n')
    .filter((l) => / dropping \d+ bytes/.test(l) || /\bCorruption\b/.test(l))
    .map((l) => l.replace(/^\S+ \S+ /, '').replaceAll(levelDir, shownAs).trim());
}

/**
 * Is the store's LevelDB LOCK held by a live process? Linux lists every lock in /proc/locks by
 * "major:minor:inode" (hex device numbers); elsewhere this says false and LevelDB's own lock decides later.
 */
async function lockHeld(storeDir: string): Promise<boolean> {
  const st = await stat(join(storeDir, 'LOCK'), { bigint: true }).catch(() => undefined);
  if (!st) return false;
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  const locks = await readFile('/proc/locks', 'utf8').catch(() => '');
  return locks.split('\n').some((l) => l.split(/\s+/).includes(id));
}

/** Copies the store beside itself (tables hard-linked: LevelDB never writes an existing table). */
async function copyStore(storeDir: string): Promise<string> {
  const copy = join(dirname(storeDir), `${COPY_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(copy, { mode: 0o700 });
  for (const name of await readdir(storeDir)) {
    if (name === 'LOCK') continue;
    const from = join(storeDir, name);
    const to = join(copy, name);
    if (/\.(ldb|sst)$/.test(name)) await link(from, to).catch(() => copyFile(from, to));
    else await copyFile(from, to);
  }
  return copy;
}

/** Removes copies that a check killed midway left beside the store (not those of a check still running). */
async function removeStaleCopies(storeDir: string): Promise<void> {
  const parent = dirname(storeDir);
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(COPY_PREFIX)) continue;
    const pid = Number(name.slice(COPY_PREFIX.length).split('-')[0]);
    if (pid !== process.pid && processAlive(pid)) continue;
    await rm(join(parent, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The mismatch, if any, between what the store holds and what its own head and the head file say. */
export function headProblem(scan: Scan, file: HeadFileContent): string | undefined {
  const { head, digest } = scan;
  if (file === 'unreadable') return `${HEAD_FILE} is unreadable`;
  if (!head) {
    // A store from before integrity records has neither; it is adopted as it is.
    return file ? `the integrity record is missing, but ${HEAD_FILE} says commit #${file.seq} was made: records are lost` : undefined;
  }
  if (head.count !== digest.count || head.digest !== digest.hex()) {
    const n = digest.count - head.count;
    const what = n < 0 ? `${-n} record(s) missing` : n > 0 ? `${n} record(s) more than recorded` : 'record contents differ';
    return `${what}: its last commit #${head.seq} recorded ${head.count} records, ${digest.count} are there`;
  }
  if (!file) return `${HEAD_FILE} is missing (the store says commit #${head.seq} was made)`;
  if (file.seq > head.seq) return `the store ends at commit #${head.seq} but ${HEAD_FILE} says #${file.seq} was made: the last ${file.seq - head.seq} commit(s) are lost`;
  if (file.seq === head.seq && file.digest !== head.digest) return `commit #${head.seq} holds other records than ${HEAD_FILE} recorded`;
  return undefined;
}

/**
 * Checks the store in `storeDir` on a copy, never touching the original. Resolves with the copy's scan (the
 * real open recovers the same files to the same records); throws STORE_CORRUPT naming what is wrong.
 */
export async function checkStoreCopy(storeDir: string): Promise<Scan> {
  await removeStaleCopies(storeDir);
  const st = await stat(storeDir).catch(() => undefined);
  if (!st?.isDirectory()) throw storeCorrupt(storeDir, 'the directory itself is missing (ca init creates it before ca.json)');
  if (await lockHeld(storeDir)) throw storeLocked(storeDir);
  if (!(await stat(join(storeDir, 'CURRENT')).then((s) => s.isFile(), () => false))) {
    throw storeCorrupt(storeDir, `${join(storeDir, 'CURRENT')} is missing (LevelDB would start an empty store in its place)`);
  }
  const copy = await copyStore(storeDir).catch(async (err: unknown) => {
    await removeStaleCopies(storeDir);
    throw new HitlessError('UNAVAILABLE', `cannot check the CA store ${storeDir} before opening it: copying it failed: ${(err as Error).message}`, {
      cause: err,
      hint: `free some space beside ${storeDir}: the check copies the store's log and manifest (a few MB at most) and hard-links its tables`,
    });
  });
  try {
    const db = new Level<string, unknown>(copy, { createIfMissing: false, valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      const inner = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw storeCorrupt(storeDir, `LevelDB cannot open it: ${inner.replaceAll(copy, storeDir)}`, err);
    }
    let scan: Scan;
    try {
      scan = await scanRecords(db);
    } catch (err) {
      const message = ((err as { cause?: Error }).cause ?? (err as Error)).message;
      throw storeCorrupt(storeDir, `reading it failed: ${message.replaceAll(copy, storeDir)}`, err);
    } finally {
      await db.close().catch(() => {});
    }
    const dropped = await droppedData(copy, storeDir);
    if (dropped.length) throw storeCorrupt(storeDir, `LevelDB dropped data while recovering it: ${dropped.join('; ')}`);
    if (scan.problems.length) throw storeCorrupt(storeDir, scan.problems.join('; '));
    const problem = headProblem(scan, await readHeadFile(storeDir));
    if (problem) throw storeCorrupt(storeDir, problem);
    return scan;
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
