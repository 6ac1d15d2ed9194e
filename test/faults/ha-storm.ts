// Scenario 8: replicas on etcd (3 etcd members, 3 `ca serve --etcd` replicas). During a renewal storm the
// leader replica is SIGKILLed at random points (and restarted on its address), and in the first cycle one
// etcd member too (it stays down: quorum 2 of 3). Nodes are test-side clients that fail over to the next
// replica address when one does not answer. After each kill, with the storm paused, the records are read
// through a surviving replica (`ca nodes --json`): a node's record must never move back to a certificate the
// node had already replaced (a lost certificate); at the end every node renews once more (locked out if
// refused). The etcd backend keeps a node's newest and previous certificate only, so "every certificate on
// record" is checked as "no record rolled back". Recovery = kill → next renewal accepted by any replica.
// Needs etcd (skipped with a note without it); long run only (`npm run faults -- --only 8`); the etcd
// helper's test/ha/failover.test.ts kills the leader and a member during a root rotation.
import { setTimeout as delay } from 'node:timers/promises';
import { etcdMissing } from '../helpers/etcd.js';
import { startHaCa, type HaCa, type Replica } from '../helpers/ha.js';
import { runJson } from '../helpers/proc.js';
import { fetchRoots, joinNode, renewNode, type TestNode } from '../helpers/node-identity.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import { Prng, Signal, errorCode, outageError, type ScenarioContext } from './common.js';

export async function haStorm(ctx: ScenarioContext, o: { cycles: number; nodes: number; maxKillDelayMs: number }): Promise<ScenarioResult> {
  const r = newResult('8 replicas: leader + etcd member SIGKILL in storm', 'kill → next renewal accepted');
  const missing = etcdMissing();
  if (missing) {
    r.notes.push(`SKIPPED: ${missing}`);
    return r;
  }
  const rng = new Prng(ctx.seed);
  const ha: HaCa = await startHaCa(ctx.dir, { etcdMembers: 3, replicas: 3, serveArgs: ['--renew-rate', '1000000/1m'] });
  const addresses = ha.replicas.map((x) => x.address);
  const signal = new Signal();
  let accepted = 0;
  let paused = false;
  let parked = 0;
  let stopped = false;
  let resume!: () => void;
  let resumed = Promise.resolve();
  let firstAcceptedAt = 0;
  const refusals = new Map<string, number>();
  const electMs: number[] = [];
  type N = { id: string; held: TestNode; seen: string[]; at: number };
  const nodes: N[] = [];
  try {
    const roots = await fetchRoots(addresses[0]!);
    for (let i = 0; i < o.nodes; i++) {
      const held = await joinNode(addresses[i % addresses.length]!, ha.init.tokens.worker, roots);
      nodes.push({ id: held.cert.node_id, held, seen: [held.cert.serial], at: i % addresses.length });
    }
    const loop = async (n: N) => {
      while (!stopped) {
        if (paused) {
          parked++;
          signal.poke();
          await resumed;
          parked--;
          continue;
        }
        try {
          const next = await renewNode(addresses[n.at]!, n.held, roots);
          n.held = next;
          n.seen.push(next.cert.serial);
          accepted++;
          if (!firstAcceptedAt) firstAcceptedAt = Date.now();
          signal.poke();
        } catch (err) {
          if (outageError(err)) n.at = (n.at + 1) % addresses.length; // fail over, as agents do
          else refusals.set(errorCode(err), (refusals.get(errorCode(err)) ?? 0) + 1);
          await delay(5 + rng.int(20));
        }
      }
    };
    const loops = nodes.map(loop);
    try {
      for (let cycle = 0; cycle < o.cycles; cycle++) {
        const base = accepted;
        await signal.until(() => accepted >= base + o.nodes, 60_000, `${o.nodes} renewals (cycle ${cycle})`);
        const leader: Replica = await ha.leader();
        await delay(rng.int(o.maxKillDelayMs + 1));
        firstAcceptedAt = 0;
        const killedAt = Date.now();
        leader.daemon.child.kill('SIGKILL');
        if (cycle === 0) await ha.etcd.members[2]!.kill('SIGKILL');
        await leader.daemon.exited;
        await signal.until(() => firstAcceptedAt > 0, 60_000, 'a renewal after the kill');
        r.recoveryMs.push(firstAcceptedAt - killedAt);
        await ha.leader(60_000);
        electMs.push(Date.now() - killedAt);
        r.cycles++;
        // Records through a surviving replica, storm paused.
        resumed = new Promise((res) => (resume = res));
        paused = true;
        await signal.until(() => parked === nodes.length, 30_000, 'every node to park');
        const via = ha.replicas.find((x) => x !== leader && x.daemon.child.exitCode === null && x.daemon.child.signalCode === null)!;
        const records = await runJson<{ node_id: string; serial: string }[]>('ca', ['nodes', '--json', '--state-dir', via.stateDir]);
        for (const n of nodes) {
          const rec = records.find((x) => x.node_id === n.id);
          const pos = rec ? n.seen.lastIndexOf(rec.serial) : -1;
          if (!rec) r.problems.push(`cycle ${cycle}: node ${n.id} has no record`);
          else if (pos >= 0 && pos < n.seen.length - 1) {
            r.certificatesLost++;
            r.problems.push(`cycle ${cycle}: node ${n.id}'s record went back to ${rec.serial}, an older certificate than the ${n.held.cert.serial} it holds`);
          }
        }
        // The killed replica comes back on its address.
        await ha.startReplica(leader.name, leader.address);
        paused = false;
        resume();
        ctx.log(`  scenario 8: ${cycle + 1}/${o.cycles} leader kills`);
      }
    } finally {
      stopped = true;
      paused = false;
      resume?.();
      await Promise.all(loops);
    }
    for (const n of nodes) {
      let ok = false;
      for (let i = 0; i < addresses.length && !ok; i++) {
        try {
          n.held = await renewNode(addresses[(n.at + i) % addresses.length]!, n.held, roots);
          ok = true;
        } catch (err) {
          if (!outageError(err)) {
            r.problems.push(`node ${n.id} cannot renew after the campaign: ${errorCode(err)}`);
            break;
          }
        }
      }
      if (!ok) r.nodesLockedOut++;
    }
  } finally {
    await ha.stop();
  }
  for (const [k, v] of refusals) r.problems.push(`${v} renewal(s) refused during the storm (not an outage error): ${k}`);
  r.notes.push(`${o.nodes} nodes over 3 replicas, ${accepted} renewals accepted; etcd member m2 killed in cycle 1 (stays down); kill → a replica leads again ${formatDistribution(electMs)}`);
  return r;
}
