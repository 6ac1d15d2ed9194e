// TEST-ONLY fault hooks for the fault campaign (test/faults/agent-kill.ts, issue 12). They let a test kill the
// agent at an exact point of a renewal — "in the middle of the identity write" cannot be hit reliably by a
// kill from outside — start a renewal at once instead of at 50-80 % of the lifetime, skew the agent's Clock,
// and slow every identity save down (to make two identity changes overlap, test/integration/identity-race.test.ts).
// agent/cli.ts reads them from HITLESS_TEST_CRASH_AT, HITLESS_TEST_RENEW_AT_START, HITLESS_TEST_CLOCK_SKEW_MS and
// HITLESS_TEST_SAVE_DELAY_MS; they are not flags, not in --help, and an
// operator has no reason to set them (the README's "Failure modes" section says what they are for).
import type { SaveStep } from './identity-store.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';

/** Points of a renewal, in order: after the new key, after the CA's answer, after each step of the identity write. */
export const CRASH_POINTS = ['before-csr', 'after-response', 'temp-written', 'renamed', 'dir-synced'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];
// Every step of the identity write is a crash point (does not compile otherwise).
type EveryStepIsAPoint = SaveStep extends CrashPoint ? true : never;
export const everyStepIsAPoint: EveryStepIsAPoint = true;

export interface TestHooks {
  /** SIGKILL this process when a renewal reaches this point. */
  crashAt?: CrashPoint;
  /** Ask for a renewal as soon as the agent has started. */
  renewAtStart?: boolean;
  /** Run the agent's Clock this far ahead (negative: behind) of the system's; TLS still uses real time. */
  clockSkewMs?: number;
  /** Wait this long before each identity save (logged as test_hook.save_delayed). */
  saveDelayMs?: number;
}

/** The identity store's beforeSave hook for `saveDelayMs`, if set. */
export function saveDelay(hooks: TestHooks | undefined, deps: { clock: Clock; log: Logger }): ((identity: { serial: string }) => Promise<void>) | undefined {
  const ms = hooks?.saveDelayMs;
  if (!ms) return undefined;
  return async (identity) => {
    deps.log.info('test_hook.save_delayed', { serial: identity.serial, ms });
    await deps.clock.sleep(ms);
  };
}

/** `base` shifted by `skewMs` (timers are durations and are not shifted). */
export function skewedClock(base: Clock, skewMs: number): Clock {
  return { now: () => new Date(base.now().getTime() + skewMs), sleep: (ms, signal) => base.sleep(ms, signal), timer: (ms, fn) => base.timer(ms, fn) };
}

export function crashIfAt(hooks: TestHooks | undefined, point: CrashPoint): void {
  if (hooks?.crashAt === point) process.kill(process.pid, 'SIGKILL');
}

/** Reads the hooks from the environment (agent/cli.ts); undefined when none is set. */
export function testHooksFromEnv(env: NodeJS.ProcessEnv): TestHooks | undefined {
  const crash = env.HITLESS_TEST_CRASH_AT;
  const renewAtStart = env.HITLESS_TEST_RENEW_AT_START === '1';
  const skew = env.HITLESS_TEST_CLOCK_SKEW_MS;
  const saveDelayMs = env.HITLESS_TEST_SAVE_DELAY_MS;
  if (!crash && !renewAtStart && !skew && !saveDelayMs) return undefined;
  if (skew && !/^-?\d+$/.test(skew)) throw new Error('HITLESS_TEST_CLOCK_SKEW_MS must be a whole number of milliseconds (a test-only hook)');
  if (saveDelayMs && !/^\d+$/.test(saveDelayMs)) throw new Error('HITLESS_TEST_SAVE_DELAY_MS must be a whole number of milliseconds (a test-only hook)');
  if (crash && !(CRASH_POINTS as readonly string[]).includes(crash)) {
    throw new Error(`HITLESS_TEST_CRASH_AT must be one of ${CRASH_POINTS.join(', ')} (a test-only hook)`);
  }
  return { crashAt: crash as CrashPoint | undefined, renewAtStart, clockSkewMs: skew ? Number(skew) : undefined, saveDelayMs: saveDelayMs ? Number(saveDelayMs) : undefined };
}
