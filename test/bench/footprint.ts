// Figure 8: agent footprint while idle. The real `ca serve` and two real `agent run` processes peered with each
// other (one heartbeat stream each way, default 1 s heartbeats and probes, renewals hours away): what an agent
// costs a node when nothing is rotating. Read from /proc, as `ps`/`top` would: VmRSS, and utime+stime over a
// window of wall time. Agents start from bin/agent.js; `npm run bench` builds first and sets HITLESS_FROM=dist,
// so they run the compiled code as an installed package does (no tsx loader).
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { startCa } from '../helpers/cluster.js';
import { startAgent } from '../helpers/agents.js';
import { freePort } from '../helpers/proc.js';
import { tmpDir } from '../helpers/tmp.js';

export interface FootprintSample { rssMb: number; cpuPercent: number }

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export async function rssMb(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** utime + stime in seconds. Fields 14 and 15 of /proc/pid/stat, counted after the parenthesised comm. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * Starts CA + 2 peered agents, lets them settle (`settleMs`, so start-up JIT and GC are not counted), then
 * measures `runs` windows of `windowMs`: one sample per window per agent.
 */
export async function benchFootprint(opts: { runs: number; windowMs: number; settleMs: number; nodeArgs?: string[] }): Promise<FootprintSample[]> {
  if (process.platform !== 'linux') throw new Error('the footprint benchmark reads /proc (Linux only)');
  const dir = await tmpDir();
  const ca = await startCa(dir.path, { nodeCertTtl: '6h' });
  const [pa, pb] = [await freePort(), await freePort()];
  // The test helper's fast heartbeats are overridden back to the agent's defaults (the last flag wins).
  const defaults = ['--heartbeat-interval', '1s', '--probe-interval', '1s'];
  const a = startAgent(dir.path, 'a', { ca: ca.address, token: ca.init.tokens.worker, port: pa, peers: [pb], extra: defaults, nodeArgs: opts.nodeArgs }).daemon;
  const b = startAgent(dir.path, 'b', { ca: ca.address, token: ca.init.tokens.worker, port: pb, peers: [pa], extra: defaults, nodeArgs: opts.nodeArgs }).daemon;
  try {
    await Promise.all([a.waitFor('peer.stream_up', { timeoutMs: 60_000 }), b.waitFor('peer.stream_up', { timeoutMs: 60_000 })]);
    await new Promise((r) => setTimeout(r, opts.settleMs)); // benchmark settle time, not a test wait
    const samples: FootprintSample[] = [];
    for (let r = 0; r < opts.runs; r++) {
      const pids = [a.child.pid!, b.child.pid!];
      const cpu0 = await Promise.all(pids.map(cpuSeconds));
      const t0 = performance.now();
      await new Promise((res) => setTimeout(res, opts.windowMs));
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = await Promise.all(pids.map(cpuSeconds));
      for (let i = 0; i < pids.length; i++) {
        samples.push({ rssMb: await rssMb(pids[i]!), cpuPercent: ((cpu1[i]! - cpu0[i]!) / wall) * 100 });
      }
    }
    return samples;
  } finally {
    await Promise.allSettled([a.stop(), b.stop()]);
    await ca.daemon.stop();
    await dir.cleanup();
  }
}
