// How our long-running commands (`ca serve`, `agent run`) end. A daemon must always exit on SIGTERM: a
// supervisor (systemd, a test harness, CI) that waits for it would otherwise hang forever. So:
//  - the first SIGINT/SIGTERM starts a graceful stop (in-flight calls finish, stores close);
//  - a second signal less than REPEAT_SIGNAL_WINDOW_MS (2 s) after the first is the *same* stop, not a demand to
//    force it. One Ctrl-C in a terminal delivers SIGINT to the whole process group, and a parent that
//    supervises us (the demo, a test harness, npm, tsx) forwards its own copy right after: two signals, one
//    intent. Forcing on that pair made a clean Ctrl-C end with exit code 1;
//  - a signal later than that, or a stop that overruns `stopTimeoutMs`, exits at once with a logged reason.
//    When the window closes with the stop still running, the daemon says so (`<component>.still_stopping`),
//    so the operator knows that the next Ctrl-C forces;
//  - once the graceful stop is done the process exits even if a library left a handle open (a gRPC
//    channel's reconnect timer, say), instead of waiting on the event loop to drain.
// Log lines are written synchronously (files and pipes on Linux), so exiting right after them loses none.
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './log.js';

export const STOP_TIMEOUT_MS = 15_000;
/** Signals this close to the first one are the same stop (a terminal's group signal + a parent's forward). */
export const REPEAT_SIGNAL_WINDOW_MS = 2_000;

export type StopDecision =
  | { action: 'stop' }
  | { action: 'same-stop'; sinceFirstMs: number }
  | { action: 'force'; reason: string };

/**
 * What a stop signal means, given when the first one came: the pure half of runDaemon's signal handling
 * (the driver below only reads the clock, logs and exits).
 */
export class StopSignals {
  #firstAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    readonly repeatWindowMs = REPEAT_SIGNAL_WINDOW_MS,
  ) {}

  get stopping(): boolean {
    return this.#firstAt !== undefined;
  }

  onSignal(): StopDecision {
    const now = this.clock.now().getTime();
    if (this.#firstAt === undefined) {
      this.#firstAt = now;
      return { action: 'stop' };
    }
    const sinceFirstMs = now - this.#firstAt;
    if (sinceFirstMs < this.repeatWindowMs) return { action: 'same-stop', sinceFirstMs };
    return { action: 'force', reason: `second signal ${sinceFirstMs} ms into the stop (repeats within ${this.repeatWindowMs} ms count as the same stop)` };
  }
}

export interface DaemonOptions {
  /** A graceful stop longer than this is forced. @default STOP_TIMEOUT_MS */
  stopTimeoutMs?: number;
  /** @default REPEAT_SIGNAL_WINDOW_MS */
  repeatWindowMs?: number;
  clock?: Clock;
}

/**
 * Starts the daemon and runs it until SIGINT/SIGTERM. The handlers are installed *before* `start`, so a
 * signal that arrives while starting (right after the "listening" log line, say) still stops it gracefully.
 * `start` resolves with the daemon's stop function.
 */
export async function runDaemon(
  component: string,
  log: Logger,
  start: () => Promise<() => Promise<void>>,
  opts: DaemonOptions = {},
): Promise<never> {
  const { stopTimeoutMs = STOP_TIMEOUT_MS, repeatWindowMs = REPEAT_SIGNAL_WINDOW_MS, clock = systemClock } = opts;
  const signals = new StopSignals(clock, repeatWindowMs);
  const forced = (reason: string) => {
    log.error(`${component}.stop_forced`, { reason });
    process.exit(1);
  };
  let firstSignal!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((resolve) => (firstSignal = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    const decision = signals.onSignal();
    if (decision.action === 'stop') firstSignal(signal);
    else if (decision.action === 'same-stop') log.info(`${component}.stop_signal_repeated`, { signal, sinceFirstMs: decision.sinceFirstMs });
    else forced(decision.reason);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const stop = await start();
  const signal = await received;
  log.info(`${component}.stopping`, { signal });
  let done = false;
  void clock.sleep(repeatWindowMs).then(() => {
    if (!done) log.info(`${component}.still_stopping`, { hint: 'waiting for in-flight work; another SIGINT/SIGTERM now forces the stop' });
  });
  setTimeout(() => forced(`graceful stop took longer than ${stopTimeoutMs} ms`), stopTimeoutMs).unref();
  try {
    await stop();
  } catch (err) {
    log.error(`${component}.stop_failed`, { error: (err as Error).message });
    process.exit(1);
  }
  done = true;
  log.info(`${component}.stopped`);
  process.exit(0);
}
