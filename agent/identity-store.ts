// The node's identity on disk: the only writer of the node key. Everything lives in one file,
// <state-dir>/identity.json (mode 0600), replaced atomically (write temp, fsync, rename, fsync dir), so a crash
// at any instant leaves either the old or the new consistent key/cert/bundle — never a key without its
// certificate. Leftover temp files from a crash are removed on start.
import { readFile, readdir, unlink, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HitlessError } from '../shared/errors.js';
import { TEMP_PREFIX, ensurePrivateDir, fsyncDir, writeTempFile } from '../shared/fs-atomic.js';
import { keyMatchesCertificate } from '../shared/pki/keys.js';

export type Role = 'worker' | 'manager';

export interface StoredIdentity {
  version: 1;
  nodeId: string;
  role: Role;
  clusterId: string;
  serial: string;
  issuedAt: string;
  notAfter: string;
  /**
   * This node's clock when the certificate arrived: receivedAt - issuedAt is the clock skew against the CA
   * (plus one network delay). The renewal schedule runs on the CA's timeline shifted by it (agent/skew.ts).
   */
  receivedAt?: string;
  keyPem: string;
  chainPem: string[];
  bundle: { rootsPem: string[]; crossSignedPem: string[]; version: number };
  /** Node ids the CA reported removed (refused on our node service). */
  removedNodeIds?: string[];
}

/** Errors of a state-dir write that the operator fixes (space, permissions), and the agent retries past. */
const STATE_WRITE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

/** The steps of a save, in order; tests inject a crash after any of them. */
export type SaveStep = 'temp-written' | 'renamed' | 'dir-synced';

export class IdentityStore {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly hooks: { afterStep?: (step: SaveStep) => void; beforeSave?: (identity: StoredIdentity) => Promise<void> } = {},
  ) {
    this.file = join(dir, 'identity.json');
  }

  /** Removes temp files a crash may have left behind. */
  async recover(): Promise<string[]> {
    await ensurePrivateDir(this.dir, '--state-dir');
    const leftovers = (await readdir(this.dir)).filter((f) => f.startsWith(`${TEMP_PREFIX}identity.json`));
    for (const f of leftovers) await unlink(join(this.dir, f));
    return leftovers;
  }

  async load(): Promise<StoredIdentity | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const id = JSON.parse(text) as StoredIdentity;
    if (id.version !== 1) throw new HitlessError('INVALID_ARGUMENT', `${this.file}: unsupported identity version`);
    if (!keyMatchesCertificate(id.keyPem, id.chainPem[0]!)) {
      // Cannot happen with atomic saves; refuse loudly rather than serve a broken pair.
      throw new HitlessError('INVALID_ARGUMENT', `${this.file}: key does not match certificate`, {
        hint: 'remove the state dir and re-join with a token',
      });
    }
    return id;
  }

  async save(identity: StoredIdentity): Promise<void> {
    await this.hooks.beforeSave?.(identity);
    try {
      await ensurePrivateDir(this.dir, '--state-dir');
      const tmp = await writeTempFile(this.file, JSON.stringify(identity, null, 2) + '\n', 0o600);
      this.hooks.afterStep?.('temp-written');
      await rename(tmp, this.file);
      this.hooks.afterStep?.('renamed');
      await fsyncDir(this.dir);
      this.hooks.afterStep?.('dir-synced');
    } catch (err) {
      throw this.#writeError(err);
    }
  }

  /**
   * Proves the state dir can take a save of `identity` now (a temp file twice its size, written, fsynced and
   * removed), so that a renewal does not ask the CA for a certificate it cannot keep: on a full disk each such
   * renewal would spend one of the node's renewals at the CA for nothing.
   */
  async checkWritable(identity: StoredIdentity): Promise<void> {
    const size = 2 * Buffer.byteLength(JSON.stringify(identity, null, 2));
    try {
      const tmp = await writeTempFile(this.file, randomBytes(size), 0o600);
      await unlink(tmp);
    } catch (err) {
      throw this.#writeError(err);
    }
  }

  /** A failed write of the state dir, with what the operator can do about it. */
  #writeError(err: unknown): unknown {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (!code || !STATE_WRITE_ERRORS.has(code)) return err;
    return new HitlessError('UNAVAILABLE', `cannot write the node identity in ${this.dir}: ${code}`, {
      cause: err,
      hint:
        code === 'ENOSPC' || code === 'EDQUOT'
          ? `free space on the file system of --state-dir ${this.dir}; the agent keeps serving with its current certificate and retries the renewal with backoff`
          : `make --state-dir ${this.dir} writable by the agent's user; the agent keeps serving with its current certificate and retries the renewal with backoff`,
    });
  }
}
