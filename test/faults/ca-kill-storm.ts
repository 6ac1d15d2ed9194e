// Scenario 1: the CA is SIGKILLed at random points of a renewal storm, and restarted on the same port.
// Nodes are test-side clients of the agent's own CaClient (test/helpers/node-identity.ts): each renews in a
// loop with the certificate it holds, and remembers every certificate it received. After every kill, with
// every node's call settled, the test opens the dead CA's store itself and checks:
//  - every certificate a client received is on record, for the right node (lost = 0);
//  - the serial each node holds is the node's newest, or its fallback (a renewal whose answer the kill ate):
//    otherwise the node would be refused, i.e. locked out.
// Then the CA restarts; recovery is spawn → the first renewal accepted (and spawn → `ca.listening` is noted).
// At the end every node renews once more: a refusal there is a node locked out.
import { setTimeout as delay } from 'node:timers/promises';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, type Daemon } from '../helpers/proc.js';
import { fetchRoots, joinNode, renewNode, type TestNode } from '../helpers/node-identity.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import { Prng, Signal, errorCode, outageError, readCaRecords, type ScenarioContext } from './common.js';

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
  const signal = new Signal();
  let accepted = 0;
  let paused = false;
  let parked = 0;
  let stopped = false;
  let resume!: () => void;
  let resumed = Promise.resolve();
  const refusals = new Map<string, number>();
  /** When the first renewal after the latest restart was accepted (0: not yet). */
  let firstAcceptedAt = 0;

  const loop = async (n: { id: string; held: TestNode }) => {
    while (!stopped) {
      if (paused) {
        parked++;
        signal.poke();
        await resumed;
        parked--;
        continue;
      }
      try {
        const next = await renewNode(address, n.held, roots);
        received.push({ nodeId: n.id, serial: next.cert.serial });
        n.held = next;
        accepted++;
        if (!firstAcceptedAt) firstAcceptedAt = Date.now();
        signal.poke();
      } catch (err) {
        if (!outageError(err)) {
          const k = errorCode(err);
          refusals.set(k, (refusals.get(k) ?? 0) + 1);
        }
        // A client's retry pace while the CA is down (not a wait for a condition).
        await delay(5 + rng.int(20));
      }
    }
  };
  const loops = nodes.map(loop);

  const restartMs: number[] = [];
  try {
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      const base = accepted;
      await signal.until(() => accepted >= base + o.nodes, 60_000, `${o.nodes} renewals in the storm (cycle ${cycle})`);
      await delay(rng.int(o.maxKillDelayMs + 1)); // the random kill point
      ca.child.kill('SIGKILL');
      await ca.exited;
      r.cycles++;
      // Every node's call settles (fails or lands) before the records are read.
      resumed = new Promise((res) => (resume = res));
      paused = true;
      await signal.until(() => parked === nodes.length, 30_000, 'every node to park');
      await readCaRecords(stateDir, async (rec) => {
        for (const got of received) {
          const c = await rec.cert(got.serial);
          if (!c || c.nodeId !== got.nodeId) {
            r.certificatesLost++;
            r.problems.push(`cycle ${cycle}: certificate ${got.serial} of node ${got.nodeId} was received but is ${c ? `on record for ${c.nodeId}` : 'not on record'}`);
          }
        }
        for (const n of nodes) {
          const node = rec.nodes.find((x) => x.nodeId === n.id);
          const s = n.held.cert.serial;
          if (!node || (node.serial !== s && node.fallbackSerial !== s)) {
            r.problems.push(`cycle ${cycle}: node ${n.id} holds ${s}, the CA accepts ${node ? `${node.serial} / ${node.fallbackSerial ?? '-'}` : 'nothing'}`);
          }
        }
      });
      received.length = 0; // checked; the store only grows, so they stay on record (checked again at the end)
      const spawnedAt = Date.now();
      firstAcceptedAt = 0;
      const next = await serveCa(stateDir, passphraseFile, serveArgs, address);
      ca = next.daemon;
      restartMs.push(Date.now() - spawnedAt);
      paused = false;
      resume();
      await signal.until(() => firstAcceptedAt > 0, 60_000, `the first renewal after restart ${cycle}`);
      r.recoveryMs.push(firstAcceptedAt - spawnedAt);
      if ((cycle + 1) % 10 === 0) ctx.log(`  scenario 1: ${cycle + 1}/${o.cycles} kills, ${accepted} renewals accepted`);
    }
  } finally {
    stopped = true;
    paused = false;
    resume?.();
    await Promise.all(loops);
  }
  // Locked out: a node whose next renewal (with the certificate it holds) is refused.
  for (const n of nodes) {
    try {
      n.held = await renewNode(address, n.held, roots);
    } catch (err) {
      r.nodesLockedOut++;
      r.problems.push(`node ${n.id} cannot renew after the campaign: ${errorCode(err)}`);
    }
  }
  const code = await ca.stop();
  if (code !== 0) r.problems.push(`the CA exited ${code} on SIGTERM after the campaign`);
  for (const [k, v] of refusals) r.problems.push(`${v} renewal(s) refused during the storm (not an outage error): ${k}`);
  r.notes.push(`${o.nodes} nodes, ${accepted} renewals accepted; CA spawn → ca.listening min/p50/p90/max ${formatDistribution(restartMs)}`);
  return r;
}
