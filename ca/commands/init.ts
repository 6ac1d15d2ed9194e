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
import { sealPrivateKey, generatePassphrase } from '../root-key.js';
import { FileRootMaterial } from '../root-material.js';
import { EtcdStore, etcdStoreOptions, type EtcdConnection } from '../store/etcd.js';
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
  const passphrase = opts.passphrase ?? generatePassphrase();
  await ensurePrivateDir(opts.stateDir, '--state-dir');

  const now = clock.now();
  const { privateKeyPem } = generateKeyPairPem();
  const rootPem = await createRootCertificate({
    privateKeyPem,
    subject: opts.rootSubject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + opts.rootTtlMs),
  });
  const sealed = await sealPrivateKey(privateKeyPem, passphrase);
  const secrets = { worker: generateSecret(), manager: generateSecret() };

  const store = await LevelStore.open(paths.store);
  try {
    await store.putJoinSecrets(secrets);
  } finally {
    await store.close();
  }
  await new FileRootMaterial(paths).create({ rootPem, sealedKey: sealed });
  const config: ClusterConfig = {
    version: 1,
    clusterId: randomId(),
    nodeCertTtlMs: opts.nodeCertTtlMs,
    backdateMs: opts.backdateMs,
    createdAt: now.toISOString(),
  };
  // The audit chain starts with the cluster (an interrupted init that is re-run appends a second entry).
  await appendOnce(opts.stateDir, clock, 'cluster.initialized', { clusterId: config.clusterId, rootFingerprint: parseCertificate(rootPem).fingerprint });
  // Written last: its presence is what "a cluster exists here" means, so an interrupted init can be re-run.
  await writeFileAtomic(paths.config, JSON.stringify(config, null, 2) + '\n', 0o600);

  const digest = rootDigest(pemToDer(rootPem));
  return {
    clusterId: config.clusterId,
    rootFingerprint: parseCertificate(rootPem).fingerprint,
    rootDigest: digest,
    tokens: {
      worker: formatJoinToken({ rootDigest: digest, secret: secrets.worker }),
      manager: formatJoinToken({ rootDigest: digest, secret: secrets.manager }),
    },
    paths,
    where: paths.dir,
    nodeCertTtl: formatDuration(opts.nodeCertTtlMs),
    generatedPassphrase: opts.passphrase ? undefined : passphrase,
    warnings,
  };
}

/** `ca init --etcd`: root material, config and join secrets in one etcd transaction, only if none exist there. */
async function initInEtcd(opts: InitOptions, conn: EtcdConnection, clock: Clock, warnings: string[]): Promise<InitResult> {
  const storeOptions = await etcdStoreOptions(conn);
  const passphrase = opts.passphrase ?? generatePassphrase();
  const now = clock.now();
  const { privateKeyPem } = generateKeyPairPem();
  const rootPem = await createRootCertificate({
    privateKeyPem,
    subject: opts.rootSubject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + opts.rootTtlMs),
  });
  const sealedKey = await sealPrivateKey(privateKeyPem, passphrase);
  const secrets = { worker: generateSecret(), manager: generateSecret() };
  const config: ClusterConfig = { version: 1, clusterId: randomId(), nodeCertTtlMs: opts.nodeCertTtlMs, backdateMs: opts.backdateMs, createdAt: now.toISOString() };
  const store = await EtcdStore.open(storeOptions);
  try {
    await store.createCluster(config, { rootPem, sealedKey }, secrets);
  } finally {
    await store.close();
  }
  const digest = rootDigest(pemToDer(rootPem));
  return {
    clusterId: config.clusterId,
    rootFingerprint: parseCertificate(rootPem).fingerprint,
    rootDigest: digest,
    tokens: {
      worker: formatJoinToken({ rootDigest: digest, secret: secrets.worker }),
      manager: formatJoinToken({ rootDigest: digest, secret: secrets.manager }),
    },
    paths: statePaths(opts.stateDir),
    where: `etcd prefix ${store.prefix}`,
    nodeCertTtl: formatDuration(opts.nodeCertTtlMs),
    generatedPassphrase: opts.passphrase ? undefined : passphrase,
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
    'Join a worker:   agent run --ca <ca-host:port> --token ' + r.tokens.worker + ' --state-dir <dir>',
    'Join a manager:  agent run --ca <ca-host:port> --token ' + r.tokens.manager + ' --state-dir <dir>',
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
