// The campaign's scenarios with their long and short sizes. The short sizes are what the test/faults/*.test.ts
// files run inside `npm test`; the long ones what `npm run faults` runs.
import type { ScenarioResult } from './report.js';
import type { ScenarioContext } from './common.js';
import { caKillStorm } from './ca-kill-storm.js';
import { agentKill } from './agent-kill.js';
import { brokenNetwork, type NetworkOptions } from './network.js';
import { diskFull } from './disk-full.js';
import { clockSkew } from './clock-skew.js';
import { rotationKill } from './rotation-kill.js';
import { caOutage, type CaOutageOptions } from './ca-outage.js';
import { haStorm } from './ha-storm.js';

/** The short outage run (npm test): agents restarted past their renewal point, 2 failed retries each. */
export const CA_OUTAGE_SHORT: CaOutageOptions = { cycles: 1, agents: 3, ttl: '1h', failuresBeforeReturn: 2, expiry: true, renewAtStart: true };

const SHAPED = { delayMs: 20, bytesPerSecond: 200_000, lossRate: 0.05, lossStallMs: 200, segmentBytes: 7 };
/** The short network run (npm test): fast keepalive so that detection takes about a second. */
export const NETWORK_SHORT: NetworkOptions = {
  peerBlackholes: 1, caBlackholes: 1, resets: 1, shapedRenewals: 2, resetRenewals: 2, holdMs: 300,
  keepalive: { time: '500ms', timeout: '500ms' }, shaping: SHAPED,
};
/** The long run keeps the documented keepalive defaults (10 s / 5 s): detection as an operator will see it. */
const NETWORK_LONG: NetworkOptions = { peerBlackholes: 5, caBlackholes: 5, resets: 10, shapedRenewals: 50, resetRenewals: 50, holdMs: 2_000, shaping: SHAPED };

export interface Scenario {
  id: string;
  title: string;
  run(ctx: ScenarioContext, size: 'short' | 'long'): Promise<ScenarioResult>;
}

export const SCENARIOS: Scenario[] = [
  {
    id: '1',
    title: 'CA SIGKILL during a renewal storm',
    run: (ctx, size) => caKillStorm(ctx, size === 'long' ? { cycles: 100, nodes: 8, maxKillDelayMs: 300 } : { cycles: 2, nodes: 4, maxKillDelayMs: 150 }),
  },
  {
    id: '2',
    title: 'CA SIGKILL in each root-rotation phase',
    run: (ctx, size) =>
      rotationKill(ctx, size === 'long'
        ? { phases: ['rotating', 'converged', 'finishing', 'aborting', 'rotating', 'converged', 'finishing', 'aborting', 'finishing', 'finishing'], agents: 3 }
        : { phases: ['finishing'], agents: 3 }),
  },
  {
    id: '3',
    title: 'agent SIGKILL during a renewal',
    run: (ctx, size) =>
      agentKill(ctx, size === 'long' ? { pointCycles: 50, randomCycles: 50 } : { pointCycles: 2, points: ['after-response', 'temp-written'], randomCycles: 0 }),
  },
  {
    id: '4',
    title: 'CA outage longer than the renewal window',
    run: (ctx, size) =>
      caOutage(ctx, size === 'long' ? { cycles: 5, agents: 6, ttl: '1h', failuresBeforeReturn: 3, expiry: true, renewAtStart: true } : CA_OUTAGE_SHORT),
  },
  {
    id: '5',
    title: 'broken network through a fault proxy',
    run: (ctx, size) => brokenNetwork(ctx, size === 'long' ? NETWORK_LONG : NETWORK_SHORT),
  },
  {
    id: '7',
    title: "disk full on the agent's state dir",
    run: (ctx, size) => diskFull(ctx, { cycles: size === 'long' ? 10 : 1 }),
  },
  {
    id: '6',
    title: 'clock skew between an agent and the CA',
    run: (ctx, size) =>
      clockSkew(ctx, { skewsMs: size === 'long' ? [300_000, -300_000, 120_000, -120_000, 30_000, -30_000, 1_000, -1_000, 0, 299_000, -299_000] : [300_000, -300_000] }),
  },
  {
    id: '8',
    title: 'replicas on etcd: leader replica and an etcd member SIGKILLed during a renewal storm',
    // Long run only: etcd and three replicas take a minute to start on 2 cores (test/ha is `npm run test:ha`).
    run: (ctx, size) => haStorm(ctx, size === 'long' ? { cycles: 20, nodes: 8, maxKillDelayMs: 300 } : { cycles: 2, nodes: 4, maxKillDelayMs: 150 }),
  },
];
