// Scenario 3: the agent is SIGKILLed at points of a renewal. Two kinds of kill:
//  - at a named point, by the agent itself (test-only hook HITLESS_TEST_CRASH_AT, agent/test-hooks.ts):
//    after the new key (before the CSR), after the CA's answer (before anything is saved), and after each
//    step of the identity write (temp file written, renamed over identity.json, directory synced) — "the
//    middle of the identity write" cannot be hit reliably from outside;
//  - at a random instant, from outside, uniformly over a window as long as a renewal takes here.
// Every renewal is started at once (HITLESS_TEST_RENEW_AT_START) instead of at 50-80 % of the lifetime: the
// agent's own renewal loop and code path, only moved earlier. After each kill the test reads identity.json
// itself (temp files removed as the agent does; key must match certificate), then starts the agent again
// with no crash point: it must load its identity and renew on its own (recovery = spawn → identity.renewed).
// At the end the CA is stopped and its store read: every serial the node held is a certificate on record
// for it; the CA logged no superseded certificate (a node refused for presenting an old one).
import { setTimeout as delay } from 'node:timers/promises';
import { readdir } from 'node:fs/promises';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, type Daemon } from '../helpers/proc.js';
import { startAgent } from '../helpers/agents.js';
import { IdentityStore } from '../../agent/identity-store.js';
import { CRASH_POINTS, type CrashPoint } from '../../agent/test-hooks.js';
import { newResult, distribution, formatDistribution, type ScenarioResult } from './report.js';
import { Prng, readCaRecords, type ScenarioContext } from './common.js';

export interface AgentKillOptions {
  /** Kills at named points, cycling through CRASH_POINTS (or through `points`). */
  pointCycles: number;
  points?: readonly CrashPoint[];
  /** Kills at random instants of a renewal. */
  randomCycles: number;
}

export async function agentKill(ctx: ScenarioContext, o: AgentKillOptions): Promise<ScenarioResult> {
  const r = newResult('3 agent SIGKILL during a renewal', 'agent spawn → renewal accepted');
  const rng = new Prng(ctx.seed);
  const { init, stateDir: caDir, passphraseFile } = await initCa(ctx.dir, { nodeCertTtl: '1h' });
  const address = `127.0.0.1:${await freePort()}`;
  const ca: Daemon = (await serveCa(caDir, passphraseFile, ['--renew-rate', '1000000/1m'], address)).daemon;
  const port = await freePort();
  const first = startAgent(ctx.dir, 'node', { ca: address, token: init.tokens.worker, port });
  const ready = await first.daemon.waitFor('identity.ready', { timeoutMs: 60_000 });
  const nodeId = String(ready.nodeId);
  const agentDir = first.stateDir;
  await first.daemon.stop();

  const held = new Set<string>([String(ready.serial)]);
  const renewMs: number[] = [];
  const landed = { unchanged: 0, moved: 0, tempLeft: 0 };
  const points = o.points ?? CRASH_POINTS;
  const plan: (CrashPoint | 'random')[] = [
    ...Array.from({ length: o.pointCycles }, (_, i) => points[i % points.length]!),
    ...Array.from({ length: o.randomCycles }, () => 'random' as const),
  ];
  let previous = String(ready.serial);
  try {
    for (const [cycle, point] of plan.entries()) {
      // 1. The crash run.
      const env: NodeJS.ProcessEnv = { HITLESS_TEST_RENEW_AT_START: '1', ...(point === 'random' ? {} : { HITLESS_TEST_CRASH_AT: point }) };
      const a = startAgent(ctx.dir, 'node', { ca: address, port, env });
      if (point === 'random') {
        await a.daemon.waitFor('renewal.requested', { timeoutMs: 60_000 });
        // Uniform over a window as long as this machine's slower renewals (p90 of those measured so far).
        const window = distribution(renewMs)?.p90 ?? 300;
        await delay(rng.int(window + 1));
        a.daemon.child.kill('SIGKILL');
      }
      // A crash point the renewal never reaches would leave the agent running: bounded, then a failure.
      const overdue = new AbortController();
      const code = await Promise.race([
        a.daemon.exited,
        delay(60_000, undefined, { signal: overdue.signal }).then(() => (a.daemon.child.kill('SIGTERM'), a.daemon.exited)),
      ]).finally(() => overdue.abort());
      if (a.daemon.child.signalCode !== 'SIGKILL') {
        r.problems.push(`cycle ${cycle} (${point}): the agent exited with ${code} instead of being killed; last output:\n${a.daemon.output.slice(-5).join('\n')}`);
        break;
      }
      r.cycles++;
      // 2. What the crash left: the agent's own recovery (temp files removed), then a key that matches its cert.
      const left = (await readdir(agentDir)).filter((f) => f.startsWith('.tmp-'));
      if (left.length) landed.tempLeft++;
      const store = new IdentityStore(agentDir);
      let serial: string;
      try {
        await store.recover();
        const id = await store.load();
        if (!id) throw new Error('no identity.json');
        serial = id.serial;
      } catch (err) {
        r.nodesLockedOut++;
        r.problems.push(`cycle ${cycle} (${point}): identity after the kill is unusable: ${(err as Error).message}`);
        break;
      }
      if (serial === previous) landed.unchanged++;
      else landed.moved++;
      held.add(serial);
      // 3. The recovery run: load, renew on its own.
      const spawnedAt = Date.now();
      const b = startAgent(ctx.dir, 'node', { ca: address, port, env: { HITLESS_TEST_RENEW_AT_START: '1' } });
      try {
        const requested = await b.daemon.waitFor('renewal.requested', { timeoutMs: 60_000 });
        const renewed = await b.daemon.waitFor('identity.renewed', { timeoutMs: 60_000 });
        r.recoveryMs.push(Date.now() - spawnedAt);
        renewMs.push(Date.parse(String(renewed.time)) - Date.parse(String(requested.time)));
        previous = String(renewed.serial);
        held.add(previous);
      } catch (err) {
        r.nodesLockedOut++;
        r.problems.push(`cycle ${cycle} (${point}): the agent did not renew after the kill: ${(err as Error).message.slice(0, 600)}`);
        break;
      } finally {
        b.daemon.child.kill('SIGKILL'); // after a finished renewal: one more kill point, and fast
        await b.daemon.exited;
      }
      if ((cycle + 1) % 10 === 0) ctx.log(`  scenario 3: ${cycle + 1}/${plan.length} kills`);
    }
  } finally {
    await ca.stop();
  }
  const superseded = ca.events.filter((e) => e.event === 'node.superseded_cert_used').length;
  if (superseded) r.problems.push(`the CA refused ${superseded} renewal(s) with a superseded certificate`);
  await readCaRecords(caDir, async (rec) => {
    for (const s of held) {
      const c = await rec.cert(s);
      if (!c || c.nodeId !== nodeId) {
        r.certificatesLost++;
        r.problems.push(`serial ${s} held by node ${nodeId} is ${c ? `on record for ${c.nodeId}` : 'not on record'}`);
      }
    }
  });
  r.notes.push(
    `${o.pointCycles} kills at named points (${points.join(', ')}), ${o.randomCycles} at random instants; after the kill the node held ` +
      `its old certificate ${landed.unchanged} times, the new one ${landed.moved} times; a temp file was left ${landed.tempLeft} times (removed at start)`,
  );
  r.notes.push(`renewal duration (renewal.requested → identity.renewed) ${formatDistribution(renewMs)}`);
  return r;
}
