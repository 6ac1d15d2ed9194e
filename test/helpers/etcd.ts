// Real etcd members for tests (Debian's etcd-server, /usr/bin/etcd): started on 127.0.0.1 free ports with a
// temp --data-dir, ready when each logs that it serves client traffic (waited on, with a deadline), and
// stopped by pid. Tests that need etcd skip with a clear message when it is not installed (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { freePort } from './proc.js';

// etcd 3.4 with --logger=zap says this once its client listener serves (3.5 also says "ready to serve client requests").
const READY = /serving client traffic|ready to serve client requests/;

export const ETCD_BIN = process.env.HITLESS_ETCD_BIN ?? 'etcd';

/** Why etcd tests cannot run here, or undefined when they can (for `test(..., { skip })`). */
export function etcdMissing(): string | undefined {
  const r = spawnSync(ETCD_BIN, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `etcd is not installed (${ETCD_BIN}): apt-get install etcd-server, or run .ci/run as root`;
  return undefined;
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  child: ChildProcess;
  /** SIGKILL (a crash) or SIGTERM; resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  log: string[];
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Members started to run as long as the test process (startEtcd's `untilExit`): killed at exit, no leak. */
const untilExit = new WeakSet<ChildProcess>();
// As in test/helpers/proc.ts: a member still running when the test file ends (process.exit, --test-force-exit)
// was never stopped; it is killed, named, and the file fails (on Node 26 it would have held the file open).
process.on('exit', () => {
  const leaked = [...live].filter((c) => c.exitCode === null && c.signalCode === null && !c.killed && !untilExit.has(c));
  for (const c of live) if (c.pid && c.exitCode === null) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  if (leaked.length === 0 || !process.env.NODE_TEST_CONTEXT) return;
  process.stderr.write(`test/helpers/etcd.ts: ${leaked.length} etcd member(s) still running when this test file ended, killed now (stop the cluster in after()): pids ${leaked.map((c) => c.pid).join(', ')}\n`);
  process.exitCode = 1;
});

/**
 * Starts an `size`-member etcd cluster with its data under `dir`; resolves once every member serves clients.
 * `untilExit`: the members run until the test process ends (killed then; test/helpers/cluster.ts gives each CA
 * one this way under HITLESS_TEST_STORE=etcd), instead of being stopped by the test.
 */
export async function startEtcd(dir: string, size = 1, opts: { readyTimeoutMs?: number; untilExit?: boolean } = {}): Promise<EtcdCluster> {
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initial = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const token = `hl-${process.pid}-${Date.now()}`;
  const members = ports.map((p, i) => {
    const name = `m${i}`;
    const clientUrl = `http://127.0.0.1:${p.client}`;
    const child = spawn(
      ETCD_BIN,
      [
        `--name=${name}`,
        `--data-dir=${join(dir, name)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-cluster=${initial}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-outputs=stderr',
        // Tests: a leader is found fast on an idle loopback; a loaded 2-core box still keeps its heartbeats.
        '--heartbeat-interval=100',
        '--election-timeout=1000',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' } },
    );
    live.add(child);
    if (opts.untilExit) untilExit.add(child);
    const log: string[] = [];
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      if (log.length > 500) log.shift();
    });
    const member: EtcdMember = {
      name,
      clientUrl,
      child,
      log,
      kill: async (signal = 'SIGKILL') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
        live.delete(child);
      },
    };
    return member;
  });
  const deadline = opts.readyTimeoutMs ?? 30_000;
  try {
    await Promise.all(members.map((m) => ready(m, deadline)));
  } catch (err) {
    await Promise.all(members.map((m) => m.kill()));
    throw err;
  }
  return {
    members,
    endpoints: members.map((m) => m.clientUrl),
    stop: async () => {
      await Promise.all(members.map((m) => m.kill('SIGTERM')));
    },
  };
}

function ready(m: EtcdMember, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`etcd ${m.name} not ready within ${timeoutMs} ms; last log lines:\n${m.log.slice(-5).join('\n')}`)), timeoutMs);
    const check = (line: string) => {
      if (READY.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    };
    m.log.forEach(check);
    createInterface({ input: m.child.stderr! }).on('line', check);
    m.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`etcd ${m.name} exited (${code}) before it was ready:\n${m.log.slice(-5).join('\n')}`));
    });
  });
}
