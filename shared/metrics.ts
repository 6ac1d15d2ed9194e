// Prometheus metrics (prom-client). One registry per process: a daemon is one process, and `/metrics`
// (issue 13) serves `metrics.registry`. Code that counts something imports the `metrics` object below; tests
// read deltas (`await counterValue(...)`) rather than absolute values, since the registry lives as long as
// the test process.
//
// Names follow Prometheus conventions: `hitless_` prefix, base units, `_total` for counters, `_seconds`.
// Add a metric here (one place to see them all, one place for help texts) and document it in the README's
// "Monitoring" section.
import { Counter, Registry } from 'prom-client';
import type { Logger } from './log.js';

export class Metrics {
  readonly registry = new Registry();

  /**
   * Every resource bound that triggered (connections per source, message size, call deadline, …), by the
   * limit's stable name. Pair each increment with a `limit.exceeded` log event: use `limitExceeded()`.
   */
  readonly limitRejections = new Counter({
    name: 'hitless_limit_rejections_total',
    help: 'Requests, streams or connections refused or closed because a resource bound was reached, by limit.',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
}

export const metrics = new Metrics();

/**
 * One call for "a bound triggered": a warn-level `limit.exceeded` log line with the limit's name and the
 * given fields, and the counter. Fields must never carry raw attacker input (use `escapedPrefix`).
 */
export function limitExceeded(log: Logger, limit: string, fields: Record<string, unknown> = {}): void {
  metrics.limitRejections.inc({ limit });
  log.warn('limit.exceeded', { limit, ...fields });
}

/** The value of one counter series, for tests and status output. */
export async function counterValue(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const data = await counter.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
