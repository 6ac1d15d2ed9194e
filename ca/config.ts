// The CA's settings: what `ca init` writes to <state-dir>/ca.json, and the limits every setting obeys.
// Everything here is resolved once, at startup; nothing reads flags or the environment later.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HitlessError, invalidArgument } from '../shared/errors.js';
import { formatDuration } from '../shared/duration.js';
import { assertPrivateDir } from '../shared/private-dir.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const NODE_CERT_TTL = { defaultMs: 6 * HOUR, minMs: 10 * SECOND, maxMs: 24 * HOUR, warnBelowMs: MINUTE } as const;
/**
 * Backdate of a leaf's notBefore, so peers whose clocks run slow still accept a fresh certificate: 5 minutes
 * covers the ±5 min of skew the fault campaign proves (scenario 6; with 1 minute a node 5 minutes behind refused
 * its own fresh certificate as not yet valid). Peers: step-ca 1 m, SPIRE 10 s, SwarmKit 1 h.
 */
export const BACKDATE = { defaultMs: 5 * MINUTE, maxMs: HOUR } as const;
export const ROOT_TTL_DEFAULT_MS = 10 * 365 * 24 * HOUR;
export const ROOT_SUBJECT_DEFAULT = 'CN=hitless root CA';
export const PASSPHRASE_ENV = 'HITLESS_CA_PASSPHRASE';

export interface ClusterConfig {
  version: 1;
  clusterId: string;
  nodeCertTtlMs: number;
  backdateMs: number;
  createdAt: string;
}

export interface StatePaths {
  dir: string;
  config: string;
  rootCert: string;
  rootKey: string;
  store: string;
  adminSocket: string;
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    config: join(dir, 'ca.json'),
    rootCert: join(dir, 'root.crt'),
    rootKey: join(dir, 'root.key.enc'),
    store: join(dir, 'store'),
    adminSocket: join(dir, 'admin.sock'),
  };
}

/** Validates a node certificate lifetime; returns a warning to print when it is legal but unwise. */
export function checkNodeCertTtl(ms: number): string | undefined {
  if (ms < NODE_CERT_TTL.minMs || ms > NODE_CERT_TTL.maxMs) {
    throw invalidArgument(
      `node certificate TTL ${formatDuration(ms)} is outside ${formatDuration(NODE_CERT_TTL.minMs)}..${formatDuration(NODE_CERT_TTL.maxMs)}`,
      'short TTLs are for tests and demos; production fleets use hours (default 6h)',
    );
  }
  if (ms < NODE_CERT_TTL.warnBelowMs) {
    return `node certificate TTL ${formatDuration(ms)} is below 1m: fine for tests and demos, not for a fleet`;
  }
  return undefined;
}

export function checkBackdate(ms: number): void {
  if (ms < 0 || ms > BACKDATE.maxMs) {
    throw invalidArgument(`backdate ${formatDuration(ms)} is outside 0s..${formatDuration(BACKDATE.maxMs)}`);
  }
}

export async function readClusterConfig(paths: StatePaths): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(paths.config, 'utf8');
  } catch (cause) {
    throw new HitlessError('NOT_FOUND', `no cluster in ${paths.dir} (cannot read ${paths.config})`, {
      cause,
      hint: `create one with 'ca init --state-dir ${paths.dir}'`,
    });
  }
  // Holds the sealed root key and the store: refused, not repaired, when group or others can reach it.
  await assertPrivateDir(paths.dir, '--state-dir');
  const config = JSON.parse(text) as ClusterConfig;
  if (config.version !== 1) throw invalidArgument(`${paths.config}: unsupported config version ${String(config.version)}`);
  return config;
}
