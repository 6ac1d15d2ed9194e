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
import { fetchRoots, joinNode } from '../helpers/node-identity.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import { Prng, type ScenarioContext } from './common.js';
import { RenewalStorm, type StormNode } from './storm.js';

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
  const electMs: number[] = [];
  try {
    const roots = await fetchRoots(addresses[0]!);
    const nodes: (StormNode & { seen: string[] })[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const held = await joinNode(addresses[i % addresses.length]!, ha.init.tokens.worker, roots);
      nodes.push({ id: held.cert.node_id, held, seen: [held.cert.serial], at: i % addresses.length });
    }
    const storm = new RenewalStorm(nodes, {
      addresses,
      roots,
      rng,
      failover: true,
      onRenewed: (n, next) => n.seen.push(next.cert.serial),
    });
    try {
      for (let cycle = 0; cycle < o.cycles; cycle++) {
        await storm.roundDone(`${o.nodes} renewals (cycle ${cycle})`);
        const leader: Replica = await ha.leader();
        await delay(rng.int(o.maxKillDelayMs + 1));
        storm.markRecovery();
        const killedAt = Date.now();
        leader.daemon.child.kill('SIGKILL');
        if (cycle === 0) await ha.etcd.members[2]!.kill('SIGKILL');
        await leader.daemon.exited;
        await storm.recovered('a renewal after the kill');
        r.recoveryMs.push(storm.firstAcceptedAt - killedAt);
        await ha.leader(60_000);
        electMs.push(Date.now() - killedAt);
        r.cycles++;
        // Records through a surviving replica, storm paused.
        await storm.pause();
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
        storm.resume();
        ctx.log(`  scenario 8: ${cycle + 1}/${o.cycles} leader kills`);
      }
    } finally {
      await storm.stop();
    }
    r.nodesLockedOut += await storm.lockedOut((line) => r.problems.push(line));
    r.problems.push(...storm.refusalProblems());
    r.notes.push(`${o.nodes} nodes over 3 replicas, ${storm.accepted} renewals accepted; etcd member m2 killed in cycle 1 (stays down); kill → a replica leads again ${formatDistribution(electMs)}`);
  } finally {
    await ha.stop();
  }
  return r;
}
