// Scenario 1: the CA is SIGKILLed at random points of a renewal storm, and restarted on the same port.
// Nodes are test-side clients of the agent's own CaClient (test/helpers/node-identity.ts): each renews in a
// loop with the certificate it holds, and remembers every certificate it received. After every kill, with
// every node's call settled, the test opens the dead CA's store itself and checks:
//  - every certificate a client received is on record, for the right node (lost = 0);
//  - the serial each node holds is the node's newest, or its fallback (a renewal whose answer the kill ate):
//    otherwise the node would be refused, i.e. locked out.
// Then the CA restarts; recovery is spawn → the first renewal accepted (and spawn → `ca.listening` is noted).
// Next to these wall times (inflated when other work shares the cores), the CA's own CPU time: what it reports
// in `ca.listening` (startCpuMs, every thread) and its utime+stime (/proc) when the first renewal lands.
// At the end every node renews once more: a refusal there is a node locked out.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, type Daemon } from '../helpers/proc.js';
import { fetchRoots, joinNode, type TestNode } from '../helpers/node-identity.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import { Prng, readCaRecords, type ScenarioContext } from './common.js';
import { RenewalStorm } from './storm.js';

export interface CaKillStormOptions {
  cycles: number;
  nodes: number;
  /** The kill comes uniformly in [0, this] after the storm is under way again. */
  maxKillDelayMs: number;
}

export async function caKillStorm(ctx: ScenarioContext, o: CaKillStormOptions): Promise<ScenarioResult> {
  const r = newResult('1 CA SIGKILL during renewal storm', 'CA spawn → first renewal accepted');
  const rng = new Prng(ctx.seed);
  const { init, stateDir, passphraseFile } = await initCa(ctx.dir, { nodeCertTtl: '1h' });
  const address = `127.0.0.1:${await freePort()}`;
  // The storm renews far more often than the per-node budget allows: lift it (the bound is tested elsewhere).
  const serveArgs = ['--renew-rate', '1000000/1m'];
  let ca: Daemon = (await serveCa(stateDir, passphraseFile, serveArgs, address)).daemon;
  const roots = await fetchRoots(address);
  const nodes: { id: string; held: TestNode }[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const held = await joinNode(address, init.tokens.worker, roots);
    nodes.push({ id: held.cert.node_id, held });
  }
  const received: { nodeId: string; serial: string }[] = [];
  /** The CA's CPU time when the first renewal after the latest restart was accepted. */
  let firstAcceptedCpuMs = 0;
  const storm = new RenewalStorm(
    nodes.map((n) => ({ ...n, at: 0 })),
    {
      addresses: [address], roots, rng,
      onRenewed: (n, next) => {
        received.push({ nodeId: n.id, serial: next.cert.serial });
        if (!storm.firstAcceptedAt) firstAcceptedCpuMs = cpuMsOf(ca.child.pid); // the one `recovered` waits for
      },
    },
  );

  const restartMs: number[] = [];
  const cpu = { listening: [] as number[], firstRenewal: [] as number[], selfListening: [] as number[] };
  /** `ca.listening` → the CA's first `node.renewed`, both by the CA's own log clock: its side of the recovery. */
  const listeningToRenewedMs: number[] = [];
  try {
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      await storm.roundDone(`${o.nodes} renewals in the storm (cycle ${cycle})`);
      await delay(rng.int(o.maxKillDelayMs + 1)); // the random kill point
      ca.child.kill('SIGKILL');
      await ca.exited;
      r.cycles++;
      // Every node's call settles (fails or lands) before the records are read.
      await storm.pause();
      await readCaRecords(stateDir, async (rec) => {
        for (const got of received) {
          const c = await rec.cert(got.serial);
          if (!c || c.nodeId !== got.nodeId) {
            r.certificatesLost++;
            r.problems.push(`cycle ${cycle}: certificate ${got.serial} of node ${got.nodeId} was received but is ${c ? `on record for ${c.nodeId}` : 'not on record'}`);
          }
        }
        for (const n of storm.nodes) {
          const node = rec.nodes.find((x) => x.nodeId === n.id);
          const s = n.held.cert.serial;
          if (!node || (node.serial !== s && node.fallbackSerial !== s)) {
            r.problems.push(`cycle ${cycle}: node ${n.id} holds ${s}, the CA accepts ${node ? `${node.serial} / ${node.fallbackSerial ?? '-'}` : 'nothing'}`);
          }
        }
      });
      received.length = 0; // checked; the store only grows, so they stay on record (checked again at the end)
      const spawnedAt = Date.now();
      storm.markRecovery();
      const next = await serveCa(stateDir, passphraseFile, serveArgs, address);
      ca = next.daemon;
      restartMs.push(Date.now() - spawnedAt);
      const listening = await ca.waitFor('ca.listening');
      cpu.listening.push(Number(listening.startCpuMs));
      cpu.selfListening.push(Number(listening.startMs));
      storm.resume();
      await storm.recovered(`the first renewal after restart ${cycle}`);
      r.recoveryMs.push(storm.firstAcceptedAt - spawnedAt);
      cpu.firstRenewal.push(firstAcceptedCpuMs);
      const renewed = await ca.waitFor('node.renewed');
      listeningToRenewedMs.push(Date.parse(String(renewed.time)) - Date.parse(String(listening.time)));
      if ((cycle + 1) % 10 === 0) ctx.log(`  scenario 1: ${cycle + 1}/${o.cycles} kills, ${storm.accepted} renewals accepted`);
    }
  } finally {
    await storm.stop();
  }
  // Locked out: a node whose next renewal (with the certificate it holds) is refused.
  r.nodesLockedOut += await storm.lockedOut((line) => r.problems.push(line));
  const code = await ca.stop();
  if (code !== 0) r.problems.push(`the CA exited ${code} on SIGTERM after the campaign`);
  r.problems.push(...storm.refusalProblems());
  r.notes.push(`${o.nodes} nodes, ${storm.accepted} renewals accepted; CA spawn → ca.listening min/p50/p90/max ${formatDistribution(restartMs)} (the CA's own count from its process start: ${formatDistribution(cpu.selfListening)})`);
  r.notes.push(`ca.listening → the CA's first node.renewed (its log clock) ${formatDistribution(listeningToRenewedMs)}`);
  r.notes.push(`CA CPU time (all threads) at ca.listening ${formatDistribution(cpu.listening)}, at the first renewal accepted ${formatDistribution(cpu.firstRenewal)}`);
  return r;
}

/** utime + stime of a live process in ms (/proc/PID/stat fields 14 and 15, in USER_HZ = 100 ticks a second). */
function cpuMsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN; // not Linux, or already gone
  }
}
