// The one owner of root material: the sealed root key (encrypted under the operator's passphrase, never
// stored in the clear), the root certificate and the cluster config. `ca init` creates it, `ca serve` reads it,
// a finished root rotation replaces it; nothing else reads or writes root files or root records.
// (Cross-signed certificates and retired roots are part of the rotation state: CaStore.getRotationState.)
//
// Two homes:
//   FileRootMaterial  <state-dir>/root.crt, root.key.enc, ca.json — the embedded (level) cluster.
//   StoreRootMaterial etcd keys `root` ({rootPem, sealedKey}) and `config` — every replica serves the same
//                     cluster. Key and certificate are one record there, so a finish replaces both at once.
import { readFile } from 'node:fs/promises';
import { HitlessError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/fs-atomic.js';
import { readClusterConfig, statePaths, type ClusterConfig, type StatePaths } from './config.js';
import { RootKeyAhead, type SealedKey } from './root-key.js';
import type { EtcdStore } from './store/etcd.js';

export interface RootMaterial {
  rootPem: string;
  sealedKey: SealedKey;
}

export interface RootMaterialStore {
  /** Where the material lives, for messages. */
  readonly where: string;
  readConfig(): Promise<ClusterConfig>;
  read(): Promise<RootMaterial>;
  /** A finished rotation: `next` replaces the current root and key. */
  replace(next: RootMaterial): Promise<void>;
}

export class FileRootMaterial implements RootMaterialStore {
  constructor(readonly paths: StatePaths) {}

  get where(): string {
    return this.paths.dir;
  }

  readConfig(): Promise<ClusterConfig> {
    return readClusterConfig(this.paths);
  }

  async read(): Promise<RootMaterial> {
    const rootPem = await readFile(this.paths.rootCert, 'utf8');
    const sealedKey = JSON.parse(await readFile(this.paths.rootKey, 'utf8')) as SealedKey;
    return { rootPem, sealedKey };
  }

  /** Key first, then certificate: loadTrust() completes a replace interrupted between the two. */
  async replace(next: RootMaterial): Promise<void> {
    await writeFileAtomic(this.paths.rootKey, JSON.stringify(next.sealedKey, null, 2) + '\n', 0o600);
    await writeFileAtomic(this.paths.rootCert, next.rootPem, 0o644);
  }

  /** `ca init`: the root files (the config, written last by init, is what makes the cluster exist). */
  async create(material: RootMaterial): Promise<void> {
    await writeFileAtomic(this.paths.rootCert, material.rootPem, 0o644);
    await writeFileAtomic(this.paths.rootKey, JSON.stringify(material.sealedKey, null, 2) + '\n', 0o600);
  }
}

/**
 * `ca serve` on the embedded store, first thing: starts unsealing the root key of `stateDir` (RootKeyAhead).
 * Undefined when the files cannot be read: the start then fails where it always has, with its own message.
 */
export async function unsealAhead(stateDir: string, passphrase: string): Promise<RootKeyAhead | undefined> {
  const material = await new FileRootMaterial(statePaths(stateDir)).read().catch(() => undefined);
  return material?.sealedKey ? new RootKeyAhead(material.sealedKey, passphrase) : undefined;
}

export class StoreRootMaterial implements RootMaterialStore {
  constructor(private readonly store: EtcdStore) {}

  get where(): string {
    return `etcd prefix ${this.store.prefix}`;
  }

  async readConfig(): Promise<ClusterConfig> {
    const config = await this.store.getClusterRecord<ClusterConfig>('config');
    if (!config) {
      throw new HitlessError('NOT_FOUND', `no cluster in etcd under prefix ${this.store.prefix}`, {
        hint: "create one with 'ca init --etcd <endpoints>' (same --etcd-prefix), or check --etcd and --etcd-prefix",
      });
    }
    if (config.version !== 1 || typeof config.clusterId !== 'string' || typeof config.nodeCertTtlMs !== 'number') {
      throw new HitlessError('STORE_CORRUPT', `the cluster config in etcd (prefix ${this.store.prefix}) is not a hitless cluster config`, {
        hint: 'restore etcd from a snapshot (README "High availability")',
      });
    }
    return config;
  }

  async read(): Promise<RootMaterial> {
    const root = await this.store.getClusterRecord<RootMaterial>('root');
    if (!root || typeof root.rootPem !== 'string' || typeof root.sealedKey !== 'object') {
      throw new HitlessError('STORE_CORRUPT', `the root material in etcd (prefix ${this.store.prefix}) is missing or damaged`, {
        hint: 'restore etcd from a snapshot (README "High availability")',
      });
    }
    return root;
  }

  replace(next: RootMaterial): Promise<void> {
    return this.store.putClusterRecord('root', next);
  }
}
