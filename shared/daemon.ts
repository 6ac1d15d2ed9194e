// How our long-running commands (`ca serve`, `agent run`) end. A daemon must always exit on SIGTERM: a
// supervisor (systemd, a test harness, CI) that waits for it would otherwise hang forever. So:
//  - the first SIGINT/SIGTERM starts a graceful stop (in-flight calls finish, stores close);
//  - a second signal, or a stop that overruns `stopTimeoutMs`, exits at once with a logged reason;
//  - once the graceful stop is done the process exits even if a library left a handle open (a gRPC
//    channel's reconnect timer, say), instead of waiting on the event loop to drain.
// Log lines are written synchronously (files and pipes on Linux), so exiting right after them loses none.
import type { Logger } from './log.js';

export const STOP_TIMEOUT_MS = 15_000;

/**
 * Starts the daemon and runs it until SIGINT/SIGTERM. The handlers are installed *before* `start`, so a
 * signal that arrives while starting (right after the "listening" log line, say) still stops it gracefully.
 * `start` resolves with the daemon's stop function.
 */
export async function runDaemon(
  component: string,
  log: Logger,
  start: () => Promise<() => Promise<void>>,
  stopTimeoutMs = STOP_TIMEOUT_MS,
): Promise<never> {
  const received = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const stop = await start();
  const signal = await received;
  log.info(`${component}.stopping`, { signal });
  const forced = (reason: string) => {
    log.error(`${component}.stop_forced`, { reason });
    process.exit(1);
  };
  process.once('SIGINT', () => forced('second signal during shutdown'));
  process.once('SIGTERM', () => forced('second signal during shutdown'));
  setTimeout(() => forced(`graceful stop took longer than ${stopTimeoutMs} ms`), stopTimeoutMs).unref();
  try {
    await stop();
  } catch (err) {
    log.error(`${component}.stop_failed`, { error: (err as Error).message });
    process.exit(1);
  }
  log.info(`${component}.stopped`);
  process.exit(0);
}
