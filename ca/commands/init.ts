// `ca init`: create a cluster in a fresh state directory.
import { access } from 'node:fs/promises';
import { HitlessError } from '../../shared/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../../shared/fs-atomic.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { createRootCertificate } from '../../shared/pki/roots.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { formatJoinToken, generateSecret, rootDigest } from '../../shared/join-token.js';
import { randomId } from '../../shared/ids.js';
import { formatDuration } from '../../shared/duration.js';
import type { Clock } from '../../shared/clock.js';
import { LevelStore } from '../store.js';
import { sealPrivateKey, generatePassphrase, type SealedKey } from '../root-key.js';
import { FileRootMaterial } from '../root-material.js';
// etcd3 (with its own copy of grpc-js: ~0.5 s and ~15 MB) loads only for --etcd, not on every embedded CA's start.
import { etcdStoreOptions, type EtcdConnection } from '../store/etcd-options.js';
import { appendOnce } from '../audit.js';
import { checkBackdate, checkNodeCertTtl, statePaths, PASSPHRASE_ENV, type ClusterConfig } from '../config.js';

export interface InitOptions {
  stateDir: string;
  rootSubject: string;
  rootTtlMs: number;
  nodeCertTtlMs: number;
  backdateMs: number;
  /** From --passphrase-file or the environment; generated (and returned) when absent. */
  passphrase: string | undefined;
  /** Create the cluster in etcd (for `ca serve --etcd` replicas) instead of the state dir. */
  etcd?: EtcdConnection;
}

export interface InitResult {
  clusterId: string;
  rootFingerprint: string;
  rootDigest: string;
  tokens: { worker: string; manager: string };
  paths: ReturnType<typeof statePaths>;
  /** Where the cluster lives: the state dir, or "etcd prefix /hitless/". */
  where: string;
  nodeCertTtl: string;
  /** Only when generated: shown once, stored nowhere. */
  generatedPassphrase?: string;
  warnings: string[];
}

export async function initCluster(opts: InitOptions, clock: Clock): Promise<InitResult> {
  const warnings: string[] = [];
  const ttlWarning = checkNodeCertTtl(opts.nodeCertTtlMs);
  if (ttlWarning) warnings.push(ttlWarning);
  checkBackdate(opts.backdateMs);
  const paths = statePaths(opts.stateDir);
  if (opts.etcd) return initInEtcd(opts, opts.etcd, clock, warnings);
  const exists = await access(paths.config).then(() => true, () => false);
  if (exists) {
    throw new HitlessError('ALREADY_EXISTS', `a cluster already exists in ${opts.stateDir}; refusing to overwrite it`, {
      hint: `serve it with 'ca serve --state-dir ${opts.stateDir}', or pick another --state-dir`,
    });
  }
  await ensurePrivateDir(opts.stateDir, '--state-dir');
  const m = await newCluster(opts, clock);

  const store = await LevelStore.open(paths.store);
  try {
    await store.putJoinSecrets(m.secrets);
  } finally {
    await store.close();
  }
  await new FileRootMaterial(paths).create({ rootPem: m.rootPem, sealedKey: m.sealedKey });
  // The audit chain starts with the cluster (an interrupted init that is re-run appends a second entry).
  await appendOnce(opts.stateDir, clock, 'cluster.initialized', { clusterId: m.config.clusterId, rootFingerprint: parseCertificate(m.rootPem).fingerprint });
  // Written last: its presence is what "a cluster exists here" means, so an interrupted init can be re-run.
  await writeFileAtomic(paths.config, JSON.stringify(m.config, null, 2) + '\n', 0o600);
  return initResult(opts, m, paths.dir, warnings);
}

/** `ca init --etcd`: root material, config and join secrets in one etcd transaction, only if none exist there. */
async function initInEtcd(opts: InitOptions, conn: EtcdConnection, clock: Clock, warnings: string[]): Promise<InitResult> {
  const storeOptions = await etcdStoreOptions(conn);
  const m = await newCluster(opts, clock);
  const store = await (await import('../store/etcd.js')).EtcdStore.open(storeOptions);
  try {
    await store.createCluster(m.config, { rootPem: m.rootPem, sealedKey: m.sealedKey }, m.secrets);
  } finally {
    await store.close();
  }
  return initResult(opts, m, `etcd prefix ${store.prefix}`, warnings);
}

/** What a new cluster is made of, wherever it is stored: a root (key sealed with the passphrase), join secrets, config. */
interface NewCluster {
  passphrase: string;
  rootPem: string;
  sealedKey: SealedKey;
  secrets: { worker: string; manager: string };
  config: ClusterConfig;
}

async function newCluster(opts: InitOptions, clock: Clock): Promise<NewCluster> {
  const passphrase = opts.passphrase ?? generatePassphrase();
  const now = clock.now();
  const { privateKeyPem } = generateKeyPairPem();
  const rootPem = await createRootCertificate({
    privateKeyPem,
    subject: opts.rootSubject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + opts.rootTtlMs),
  });
  return {
    passphrase,
    rootPem,
    sealedKey: await sealPrivateKey(privateKeyPem, passphrase),
    secrets: { worker: generateSecret(), manager: generateSecret() },
    config: { version: 1, clusterId: randomId(), nodeCertTtlMs: opts.nodeCertTtlMs, backdateMs: opts.backdateMs, createdAt: now.toISOString() },
  };
}

function initResult(opts: InitOptions, m: NewCluster, where: string, warnings: string[]): InitResult {
  const digest = rootDigest(pemToDer(m.rootPem));
  return {
    clusterId: m.config.clusterId,
    rootFingerprint: parseCertificate(m.rootPem).fingerprint,
    rootDigest: digest,
    tokens: {
      worker: formatJoinToken({ rootDigest: digest, secret: m.secrets.worker }),
      manager: formatJoinToken({ rootDigest: digest, secret: m.secrets.manager }),
    },
    paths: statePaths(opts.stateDir),
    where,
    nodeCertTtl: formatDuration(opts.nodeCertTtlMs),
    generatedPassphrase: opts.passphrase ? undefined : m.passphrase,
    warnings,
  };
}

export function formatInitResult(r: InitResult): string {
  const inEtcd = r.where !== r.paths.dir;
  const lines = [
    `Cluster ${r.clusterId} created in ${r.where}`,
    inEtcd ? `  serve it with     ca serve --etcd <endpoints> --state-dir <replica dir> (on each replica)` : `  root certificate  ${r.paths.rootCert}`,
    `  root fingerprint  sha256:${r.rootFingerprint}`,
    `  node cert TTL     ${r.nodeCertTtl}`,
    '',
    `  worker token      ${r.tokens.worker}`,
    `  manager token     ${r.tokens.manager}`,
    '',
    // The token goes in a file (or HITLESS_JOIN_TOKEN), never in argv where ps shows it.
    'Join a node: write its role\'s token to a file only you can read, then',
    '  agent run --ca <ca-host:port> --token-file <file> --state-dir <dir>',
  ];
  if (r.generatedPassphrase) {
    lines.push(
      '',
      'The root key is encrypted with this generated passphrase. It is shown ONCE and stored nowhere:',
      '',
      `    ${r.generatedPassphrase}`,
      '',
      `Give it to 'ca serve' with --passphrase-file <file> (first line) or the ${PASSPHRASE_ENV} environment variable.`,
    );
  }
  return lines.join('\n') + '\n';
}
