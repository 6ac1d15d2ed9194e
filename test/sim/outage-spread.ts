// How a fleet's retries spread during a CA outage: the real Renewer, the real CaFailover (agent/ca-failover.ts,
// with its policy agent/ca-endpoints.ts) and one FakeClock shared by every simulated agent; only the network is
// simulated (every --ca address refuses while the CA is down). Each agent also runs its CA watch's reconnect
// loop as RefreshingStream does it for the watch (a failed attempt reports to the failover, then waits
// failover.retryDelayMs(failures in a row)), and wakes its Renewer when the watch is back while a renewal waits
// out a transport failure (as agent/node-agent.ts does).
//
//   node --import tsx test/sim/outage-spread.ts [--agents 20] [--seed 1]
//
// Worst case for a herd: every certificate was issued at the same instant (a fleet that joined together, or was
// re-issued by one root rotation), and the CA is down across the whole renewal window. The baseline runs the
// same code with one random stream shared by all agents (every agent draws the same numbers): what a fleet
// without jitter would do. Deterministic for a given seed.
import { parseArgs } from 'node:util';
import { setMaxListeners } from 'node:events';
import { status } from '@grpc/grpc-js';
import { silentLogger } from '../../shared/log.js';
import { Renewer } from '../../agent/renewer.js';
import { CaFailover } from '../../agent/ca-failover.js';
import { classifyCaFailure } from '../../agent/ca-endpoints.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { serviceError } from '../helpers/service-error.js';
import { Prng } from '../fuzz/prng.js';

const MIN = 60_000;

export interface OutageScenario {
  agents: number;
  lifetimeMs: number;
  /** Outage window, from the common issuance instant. */
  downFromMs: number;
  downToMs: number;
  /** Simulated time after the CA returns. */
  tailMs: number;
  addresses: string[];
  seed: number;
  /** Every agent draws the same random numbers (no effective jitter): the baseline. */
  synchronized?: boolean;
}

export const DEFAULT_SCENARIO: OutageScenario = {
  agents: 20,
  lifetimeMs: 60 * MIN,
  // The renewal window is 50-80 % of the lifetime (30-48 min): the CA is down across all of it.
  downFromMs: 25 * MIN,
  downToMs: 55 * MIN,
  tailMs: 5 * MIN,
  addresses: ['ca-1:7468', 'ca-2:7468', 'ca-3:7468'],
  seed: 1,
};

export interface SpreadFigures {
  kind: 'renew' | 'watch';
  agents: number;
  /** Attempts that hit the outage (each try of each address counts). */
  attemptsDuringOutage: number;
  /** Most attempts by the whole fleet inside any 1 s window during the outage. */
  peakPerSecond: number;
  /** Distinct agents trying inside that busiest second. */
  peakAgentsPerSecond: number;
  /** Most attempts inside any 100 ms window (a synchronized fleet puts every agent in one). */
  peakPer100ms: number;
  /** Stats of the gaps (ms) between consecutive fleet-wide attempts during the outage. */
  gapMs: { median: number; max: number };
  /** From the CA's return to each agent's first success (ms). */
  recoveryMs: { min: number; median: number; p90: number; max: number };
  /** Most first successes after the return inside any 1 s window: the load the returning CA sees at once. */
  peakRecoveriesPerSecond: number;
  /** Agents that did not succeed before the simulation ended. */
  notRecovered: number;
  /** Agents whose certificate expired (must be 0: the outage is shorter than the validity left). */
  expired: number;
}

interface Attempt {
  agent: number;
  at: number;
}

const refused = (address: string) => serviceError(status.UNAVAILABLE, `No connection established. Last error: connect ECONNREFUSED ${address}`);

export async function simulateOutage(sc: OutageScenario): Promise<SpreadFigures[]> {
  const clock = new FakeClock();
  const t0 = clock.nowMs;
  const down = () => clock.nowMs >= t0 + sc.downFromMs && clock.nowMs < t0 + sc.downToMs;
  const attempts: Record<'renew' | 'watch', Attempt[]> = { renew: [], watch: [] };
  const recovered: Record<'renew' | 'watch', (number | undefined)[]> = { renew: [], watch: [] };
  let expired = 0;
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // one signal for every simulated agent's sleeps
  const renewers: Renewer[] = [];
  const watches: Promise<void>[] = [];

  for (let i = 0; i < sc.agents; i++) {
    const prng = new Prng(sc.synchronized ? sc.seed : sc.seed * 100_003 + i);
    const random = () => prng.u32() / 0x1_0000_0000;
    const failover = new CaFailover(sc.addresses, { clock, log: silentLogger, random });
    let lifetime = { issuedAt: new Date(t0), notAfter: new Date(t0 + sc.lifetimeMs) };
    const note = (kind: 'renew' | 'watch', address: string) => {
      if (down()) {
        attempts[kind].push({ agent: i, at: clock.nowMs });
        throw refused(address);
      }
      if (clock.nowMs >= t0 + sc.downToMs) recovered[kind][i] ??= clock.nowMs - (t0 + sc.downToMs);
    };
    const renewer = new Renewer({
      clock,
      log: silentLogger,
      random,
      current: () => lifetime,
      renew: () =>
        failover.call('renew', async (address) => {
          note('renew', address);
          lifetime = { issuedAt: clock.now(), notAfter: new Date(clock.nowMs + sc.lifetimeMs) };
        }),
    });
    renewer.on('expired', () => expired++);
    let renewalWaitsForCa = false;
    renewer.on('renewal-failed', (err: unknown) => (renewalWaitsForCa = classifyCaFailure(err) === 'transport'));
    renewer.on('renewed', () => (renewalWaitsForCa = false));
    renewers.push(renewer);
    renewer.start();

    // The watch: up until the CA goes away (the server ends every stream at once), then reconnect attempts.
    watches.push(
      (async () => {
        await clock.sleep(sc.downFromMs, stop.signal);
        let address = failover.current;
        failover.report('watch', address, refused(address));
        for (let failures = 1; ; failures++) {
          await clock.sleep(failover.retryDelayMs(failures), stop.signal);
          address = failover.current;
          try {
            note('watch', address);
            failover.report('watch', address, undefined);
            if (renewalWaitsForCa && renewer.state === 'backing-off') renewer.renewNow('ca-reachable');
            return;
          } catch (err) {
            failover.report('watch', address, err);
          }
        }
      })().catch(() => {}),
    );
  }

  await clock.advanceAsync(sc.downToMs + sc.tailMs);
  stop.abort();
  await Promise.all(renewers.map((r) => r.stop()));
  await Promise.all(watches);

  return (['renew', 'watch'] as const).map((kind) => figures(kind, attempts[kind], recovered[kind], sc, expired));
}

function figures(kind: 'renew' | 'watch', attempts: Attempt[], recovered: (number | undefined)[], sc: OutageScenario, expired: number): SpreadFigures {
  const times = attempts.map((a) => a.at).sort((a, b) => a - b);
  const peakIn = (windowMs: number, xs = times) => {
    let peak = 0;
    let from = 0;
    for (let lo = 0, hi = 0; hi < xs.length; hi++) {
      while (xs[hi]! - xs[lo]! >= windowMs) lo++;
      if (hi - lo + 1 > peak) [peak, from] = [hi - lo + 1, xs[lo]!];
    }
    return { peak, agents: new Set(attempts.filter((a) => a.at >= from && a.at < from + windowMs).map((a) => a.agent)).size };
  };
  const { peak, agents: peakAgents } = peakIn(1_000);
  const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
  const rec = recovered.filter((r): r is number => r !== undefined).sort((a, b) => a - b);
  const q = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : NaN);
  return {
    kind,
    agents: sc.agents,
    attemptsDuringOutage: times.length,
    peakPerSecond: peak,
    peakAgentsPerSecond: peakAgents,
    peakPer100ms: peakIn(100).peak,
    gapMs: { median: q(gaps, 0.5), max: gaps.at(-1) ?? NaN },
    recoveryMs: { min: rec[0] ?? NaN, median: q(rec, 0.5), p90: q(rec, 0.9), max: rec.at(-1) ?? NaN },
    peakRecoveriesPerSecond: peakIn(1_000, rec).peak,
    notRecovered: sc.agents - rec.length,
    expired: kind === 'renew' ? expired : 0,
  };
}

export function formatFigures(rows: (SpreadFigures & { run: string })[]): string {
  const head = ['run', 'stream', 'agents', 'attempts in outage', 'peak attempts/1s', 'agents in peak 1s', 'peak attempts/100ms', 'gap median/max', 'recovery min/median/p90/max', 'peak recoveries/1s', 'not recovered', 'expired'];
  const s = (ms: number) => (Number.isNaN(ms) ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(0)}s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);
  const body = rows.map((r) => [
    r.run, r.kind, String(r.agents), String(r.attemptsDuringOutage), String(r.peakPerSecond), String(r.peakAgentsPerSecond), String(r.peakPer100ms),
    `${s(r.gapMs.median)} / ${s(r.gapMs.max)}`,
    `${s(r.recoveryMs.min)} / ${s(r.recoveryMs.median)} / ${s(r.recoveryMs.p90)} / ${s(r.recoveryMs.max)}`,
    String(r.peakRecoveriesPerSecond), String(r.notRecovered), String(r.expired),
  ]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => '| ' + r.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |').join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { agents: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
  const sc = { ...DEFAULT_SCENARIO, agents: Number(values.agents), seed: Number(values.seed) };
  const rows: (SpreadFigures & { run: string })[] = [];
  for (const [run, synchronized] of [['jittered', false], ['baseline: same random draws', true]] as const) {
    for (const f of await simulateOutage({ ...sc, synchronized })) rows.push({ run, ...f });
  }
  process.stdout.write(
    `${sc.agents} agents, certificates of ${sc.lifetimeMs / MIN} min all issued at t=0, ${sc.addresses.length} CA addresses, ` +
      `CA down from ${sc.downFromMs / MIN} to ${sc.downToMs / MIN} min (renewal window 30-48 min), seed ${sc.seed}\n\n${formatFigures(rows)}\n`,
  );
}
