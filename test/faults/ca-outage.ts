// Scenario 4: a CA outage longer than the renewal window. Certificates live `ttl`; a mesh of agents joins,
// the CA is SIGKILLed and stays down until every agent has failed to renew `failuresBeforeReturn` times
// (so the outage covers every agent's renewal point), then it comes back on the same port. Checked:
//  - the agents keep serving: the heartbeat streams between them stay the same streams, no stream error;
//  - they back off with jitter: the retry intervals and the spread of the agents' retries are reported (a
//    herd would show every agent retrying at the same instants);
//  - all renew within seconds of the CA's return (recovery = CA listening → each agent's identity.renewed);
//  - no certificate expires while its remaining validity exceeds the outage.
// Then the expiry case: one agent whose CA stays down past its certificate's notAfter logs identity.expired
// with the re-join hint and exits non-zero (exit code 1).
import { mkdir } from 'node:fs/promises';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, type Daemon } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import type { ScenarioContext } from './common.js';

export interface CaOutageOptions {
  cycles: number;
  agents: number;
  ttl: string;
  failuresBeforeReturn: number;
  /** Also prove the expiry case (one more CA, 10 s certificates, ~15 s). */
  expiry: boolean;
  /**
   * Short run: instead of waiting for the agents' renewal points (50-80 % of the lifetime), restart them during
   * the outage with HITLESS_TEST_RENEW_AT_START, so that they are past their renewal point at once.
   */
  renewAtStart?: boolean;
}

const at = (e: Record<string, unknown>) => Date.parse(String(e.time));

export async function caOutage(ctx: ScenarioContext, o: CaOutageOptions): Promise<ScenarioResult> {
  const r = newResult('4 CA outage > renewal window', 'CA back → agent renewed');
  r.failedHandshakes = 0;
  // The expiry case runs beside the outage (its own CA and agent): both mostly wait on certificate lifetimes.
  const expiry = o.expiry ? expiryCase(ctx, r) : undefined;
  const { init, stateDir, passphraseFile } = await initCa(ctx.dir, { nodeCertTtl: o.ttl });
  const address = `127.0.0.1:${await freePort()}`;
  let ca: Daemon = (await serveCa(stateDir, passphraseFile, [], address)).daemon;
  const ports = await Promise.all(Array.from({ length: o.agents }, () => freePort()));
  let mesh: TestAgent[] = ports.map((port, i) =>
    startAgent(ctx.dir, `o${i}`, { ca: address, token: init.tokens.worker, port, peers: ports.filter((p) => p !== port) }),
  );
  const intervals: number[] = [];
  const firstRetrySpread: number[] = [];
  const outages: number[] = [];
  try {
    await Promise.all(mesh.map((a) => a.daemon.waitFor('peer.stream_up', { nth: o.agents - 1, timeoutMs: 60_000 })));
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      const marks = mesh.map((a) => a.daemon.events.length);
      /** Where failed handshakes are counted from (after a restart: once the mesh is up again). */
      let handshakeMarks = [...marks];
      const killedAt = Date.now();
      ca.child.kill('SIGKILL');
      await ca.exited;
      if (o.renewAtStart) {
        await Promise.all(mesh.map((a) => a.daemon.stop()));
        mesh = ports.map((port, i) => startAgent(ctx.dir, `o${i}`, { ca: address, port, peers: ports.filter((p) => p !== port), env: { HITLESS_TEST_RENEW_AT_START: '1' } }));
        marks.fill(0);
        // Every listener first: a stream that came up twice to one peer would otherwise count for another
        // peer still starting, and that peer's refused probes for failed handshakes.
        await Promise.all(mesh.map((a) => a.daemon.waitFor('agent.listening', { timeoutMs: 60_000 })));
        await Promise.all(mesh.map((a) => a.daemon.waitFor('peer.stream_up', { nth: o.agents - 1, timeoutMs: 60_000 })));
        handshakeMarks = mesh.map((a) => a.daemon.events.length);
      }
      const fails = await Promise.all(
        mesh.map(async (a, i) => {
          const f = [];
          for (let n = 1; n <= o.failuresBeforeReturn; n++) f.push(await a.daemon.waitFor('renewal.failed', { after: marks[i], nth: n, timeoutMs: 120_000 }));
          return f.map(at);
        }),
      );
      for (const f of fails) for (let k = 1; k < f.length; k++) intervals.push(f[k]! - f[k - 1]!);
      const seconds = fails.map((f) => f[1] ?? f[0]!);
      firstRetrySpread.push(Math.max(...seconds) - Math.min(...seconds));
      ca = (await serveCa(stateDir, passphraseFile, [], address)).daemon;
      const back = at(await ca.waitFor('ca.listening', { timeoutMs: 1 }));
      outages.push(back - killedAt);
      const renewed = await Promise.all(mesh.map((a, i) => a.daemon.waitFor('identity.renewed', { after: marks[i], timeoutMs: 120_000 })));
      for (const e of renewed) r.recoveryMs.push(at(e) - back);
      for (const [i, a] of mesh.entries()) {
        const bad = [
          ...a.daemon.events.slice(handshakeMarks[i]).filter((e) => ['peer.stream_error', 'peer.probe_failed'].includes(e.event)),
          ...a.daemon.events.slice(marks[i]).filter((e) => e.event === 'identity.expired'),
        ];
        r.failedHandshakes += bad.filter((e) => e.event !== 'identity.expired').length;
        for (const e of bad.slice(0, 3)) r.problems.push(`cycle ${cycle}: o${i}: ${JSON.stringify(e).slice(0, 300)}`);
      }
      r.cycles++;
      ctx.log(`  scenario 4: outage ${cycle + 1}/${o.cycles}: ${outages.at(-1)} ms`);
    }
    for (const a of mesh) {
      const s = await a.status();
      for (const p of s.peers) if (p.streamStarts !== 1 || p.streamErrors !== 0) r.problems.push(`${s.nodeId} → ${p.address}: ${p.streamStarts} stream starts, ${p.streamErrors} errors`);
    }
  } finally {
    await Promise.all(mesh.map((a) => a.daemon.stop().catch(() => {})));
    await ca.stop().catch(() => {});
  }
  r.notes.push(
    `${o.agents} agents, ${o.ttl} certificates; outages ${formatDistribution(outages)}; retry intervals during the outage ${formatDistribution(intervals)}; ` +
      `spread of the agents' 2nd retries per outage ${formatDistribution(firstRetrySpread)} (0 would be a synchronised herd)`,
  );
  await expiry;
  return r;
}

/** A CA that never comes back within a 10 s certificate's life: the agent must exit non-zero with the hint. */
export async function expiryCase(ctx: ScenarioContext, r: ScenarioResult): Promise<void> {
  await mkdir(`${ctx.dir}/x`, { recursive: true, mode: 0o700 });
  const { init, stateDir, passphraseFile } = await initCa(`${ctx.dir}/x`, { nodeCertTtl: '10s' });
  const address = `127.0.0.1:${await freePort()}`;
  const ca = (await serveCa(stateDir, passphraseFile, [], address)).daemon;
  const a = startAgent(`${ctx.dir}/x`, 'expiring', { ca: address, token: init.tokens.worker, port: await freePort() });
  try {
    await a.daemon.waitFor('agent.listening', { timeoutMs: 60_000 });
    ca.child.kill('SIGKILL');
    await ca.exited;
    const expired = await a.daemon.waitFor('identity.expired', { timeoutMs: 60_000 });
    const code = await a.daemon.exited;
    const out = a.daemon.output.join('\n');
    if (code !== 1) r.problems.push(`the agent whose certificate expired exited with ${code}, expected 1`);
    if (!/Re-join/i.test(String(expired.hint)) || !/hint: re-join/.test(out)) r.problems.push(`the expiry was not reported with the re-join hint: ${JSON.stringify(expired)}`);
    r.notes.push(`expiry case: identity.expired logged ${at(expired) - Date.parse(String(expired.notAfter))} ms after notAfter, exit code ${code}, hint: "${String(expired.hint).slice(0, 80)}…"`);
  } finally {
    await a.daemon.stop().catch(() => {});
  }
}
