// How the CA reaches etcd: the flags of `ca init|serve --etcd` (EtcdConnection), resolved once — endpoints
// normalized, TLS files read — into the options of ca/store/etcd.ts (EtcdStoreOptions).
import { readFile } from 'node:fs/promises';
import { HitlessError, invalidArgument } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["https://10.0.0.1:2379"]. */
  endpoints: string[];
  /** Key prefix of this cluster's records (several clusters can share an etcd). @default '/hitless/' */
  prefix?: string;
  /** TLS to etcd (--etcd-cacert/--etcd-cert/--etcd-key): PEM bytes. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Deadline of each etcd request. @default 5000 */
  requestTimeoutMs?: number;
  log?: Logger;
}

/** How `ca init|serve --etcd` reach etcd (flags --etcd, --etcd-prefix, --etcd-cacert, --etcd-cert, --etcd-key). */
export interface EtcdConnection {
  /** Comma-separated or repeated: "10.0.0.1:2379", "https://etcd-1:2379". Without a scheme: https with --etcd-cacert, else http. */
  endpoints: string[];
  prefix?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Resolves the flags once (reads the TLS files) into EtcdStoreOptions; a bad flag fails here, clearly. */
export async function etcdStoreOptions(c: EtcdConnection, log?: Logger): Promise<EtcdStoreOptions> {
  const endpoints = c.endpoints.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  if (!endpoints.length) throw invalidArgument('--etcd needs at least one endpoint (host:port or URL)', 'e.g. --etcd 10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379');
  if ((c.certFile === undefined) !== (c.keyFile === undefined)) throw invalidArgument('--etcd-cert and --etcd-key go together', 'pass both (client certificate authentication to etcd), or neither');
  if (c.certFile && !c.caFile) throw invalidArgument('--etcd-cert needs --etcd-cacert', 'pass the CA that signed the etcd servers’ certificates');
  const prefix = c.prefix ?? '/hitless/';
  if (!prefix.startsWith('/') || !prefix.endsWith('/') || prefix.length > 128) throw invalidArgument(`--etcd-prefix must start and end with "/" (at most 128 characters)`, 'e.g. --etcd-prefix /hitless/prod/');
  const read = async (flag: string, file: string | undefined) => {
    if (!file) return undefined;
    return readFile(file).catch((cause: unknown) => {
      throw new HitlessError('INVALID_ARGUMENT', `cannot read ${flag} ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
    });
  };
  const tls = { ca: await read('--etcd-cacert', c.caFile), cert: await read('--etcd-cert', c.certFile), key: await read('--etcd-key', c.keyFile) };
  const scheme = tls.ca ? 'https' : 'http';
  return {
    endpoints: endpoints.map((e) => (/^[a-z]+:\/\//.test(e) ? e : `${scheme}://${e}`)),
    prefix,
    tls: tls.ca ? tls : undefined,
    log,
  };
}
