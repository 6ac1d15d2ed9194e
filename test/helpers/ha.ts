// A replicated CA for tests: a real etcd cluster (test/helpers/etcd.ts), `ca init --etcd`, and N `ca serve --etcd`
// replicas on 127.0.0.1 free ports, each with its own state dir (admin socket, audit log).
import { join } from 'node:path';
import { runJson, spawnDaemon, type Daemon } from './proc.js';
import { writePassphrase } from './tmp.js';
import { startEtcd, type EtcdCluster } from './etcd.js';
import type { InitJson } from './cluster.js';

export interface Replica {
  name: string;
  stateDir: string;
  daemon: Daemon;
  address: string;
}

export interface HaCa {
  etcd: EtcdCluster;
  init: InitJson;
  passphraseFile: string;
  replicas: Replica[];
  /** The replica that logged ca.leader_elected most recently and still runs. */
  leader(timeoutMs?: number): Promise<Replica>;
  startReplica(name: string, listen?: string): Promise<Replica>;
  stop(): Promise<void>;
}

export async function startHaCa(
  dir: string,
  opts: { etcdMembers?: number; replicas?: number; nodeCertTtl?: string; serveArgs?: string[] } = {},
): Promise<HaCa> {
  const etcd = await startEtcd(join(dir, 'etcd'), opts.etcdMembers ?? 3);
  const passphraseFile = await writePassphrase(dir);
  const etcdArgs = ['--etcd', etcd.endpoints.join(','), '--etcd-prefix', '/hitless-test/'];
  const init = await runJson<InitJson>('ca', ['init', ...etcdArgs, '--passphrase-file', passphraseFile, '--json', '--node-cert-ttl', opts.nodeCertTtl ?? '1h']);
  const replicas: Replica[] = [];
  const startReplica = async (name: string, listen = '127.0.0.1:0'): Promise<Replica> => {
    const stateDir = join(dir, name);
    const daemon = spawnDaemon('ca', [
      'serve', ...etcdArgs, '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--listen', listen, '--leader-lease', '2s',
      ...(opts.serveArgs ?? []),
    ]);
    // A replica that does not come up is stopped here: it is not in `replicas` yet, so nothing else would.
    const ev = await daemon.waitFor('ca.listening', { timeoutMs: 60_000 }).catch(async (err: unknown) => {
      await daemon.stop().catch(() => {});
      throw err;
    });
    const r = { name, stateDir, daemon, address: `127.0.0.1:${ev.port as number}` };
    replicas.push(r);
    return r;
  };
  try {
    for (let i = 0; i < (opts.replicas ?? 3); i++) await startReplica(`r${i}`);
  } catch (err) {
    for (const r of replicas) await r.daemon.stop().catch(() => {});
    await etcd.stop();
    throw err;
  }
  return {
    etcd,
    init,
    passphraseFile,
    replicas,
    startReplica,
    leader: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      // Wait on events: the newest ca.leader_elected of a replica that has not exited and not lost it since.
      for (;;) {
        const live = replicas.filter((r) => r.daemon.child.exitCode === null && r.daemon.child.signalCode === null);
        const leading = live.filter((r) => {
          const evs = r.daemon.events.filter((e) => e.event === 'ca.leader_elected' || e.event === 'ca.leader_lost');
          return evs.at(-1)?.event === 'ca.leader_elected';
        });
        if (leading.length === 1) return leading[0]!;
        if (Date.now() > deadline) throw new Error(`no single leader within ${timeoutMs} ms (${leading.length} claim it)`);
        await Promise.race(live.map((r) => r.daemon.waitFor('ca.leader_elected', { timeoutMs: Math.max(1, deadline - Date.now()), after: r.daemon.events.length }).catch(() => undefined)));
      }
    },
    stop: async () => {
      for (const r of replicas) if (r.daemon.child.exitCode === null && r.daemon.child.signalCode === null) await r.daemon.stop().catch(() => {});
      await etcd.stop();
    },
  };
}
