// The campaign's scenarios with their long and short sizes. The short sizes are what the test/faults/*.test.ts
// files run inside `npm test`; the long ones what `npm run faults` runs.
import type { ScenarioResult } from './report.js';
import type { ScenarioContext } from './common.js';
import { caKillStorm } from './ca-kill-storm.js';
import { agentKill } from './agent-kill.js';

export interface Scenario {
  id: string;
  title: string;
  run(ctx: ScenarioContext, size: 'short' | 'long'): Promise<ScenarioResult>;
}

export const SCENARIOS: Scenario[] = [
  {
    id: '1',
    title: 'CA SIGKILL during a renewal storm',
    run: (ctx, size) => caKillStorm(ctx, size === 'long' ? { cycles: 100, nodes: 8, maxKillDelayMs: 300 } : { cycles: 3, nodes: 4, maxKillDelayMs: 150 }),
  },
  {
    id: '3',
    title: 'agent SIGKILL during a renewal',
    run: (ctx, size) =>
      agentKill(ctx, size === 'long' ? { pointCycles: 50, randomCycles: 50 } : { pointCycles: 2, points: ['after-response', 'temp-written'], randomCycles: 1 }),
  },
];
