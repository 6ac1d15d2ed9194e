import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics, metrics, limitExceeded, counterValue } from '../../shared/metrics.js';
import type { Logger } from '../../shared/log.js';

test('limitExceeded counts the limit and logs limit.exceeded with its name', async () => {
  const lines: [string, Record<string, unknown> | undefined][] = [];
  const log = { warn: (e: string, f?: Record<string, unknown>) => lines.push([e, f]) } as unknown as Logger;
  const before = await counterValue(metrics.limitRejections, { limit: 'unit_test_limit' });
  limitExceeded(log, 'unit_test_limit', { peer: '127.0.0.1' });
  assert.equal(await counterValue(metrics.limitRejections, { limit: 'unit_test_limit' }), before + 1);
  assert.deepEqual(lines, [['limit.exceeded', { limit: 'unit_test_limit', peer: '127.0.0.1' }]]);
});

test('metrics count before prom-client is loaded, and load() carries every count over into the registry', async () => {
  const m = new Metrics();
  m.limitRejections.inc({ limit: 'early' });
  m.limitRejections.inc({ limit: 'early' }, 2);
  m.caWatchStreams.inc(1);
  m.caStoreCommitSeconds.startTimer()();
  assert.equal(await counterValue(m.limitRejections, { limit: 'early' }), 3, 'readable while unbound');
  m.observeCa(async () => ({ nodes: [{ role: 'worker', state: 'active', count: 2 }], roots: [], retired: [], rotation: { phase: 'idle', converged: false, nodesTotal: 0, nodesReissued: 0, bundlesAcknowledged: 0, blockers: [] } }));
  const registry = await m.load();
  m.limitRejections.inc({ limit: 'early' });
  const text = await registry.metrics();
  assert.match(text, /^hitless_limit_rejections_total\{limit="early"\} 4$/m);
  assert.match(text, /^hitless_ca_watch_streams 1$/m);
  assert.match(text, /^hitless_ca_store_commit_duration_seconds_count 1$/m);
  assert.match(text, /^hitless_ca_nodes\{role="worker",state="active"\} 2$/m);
  assert.doesNotMatch(text, /hitless_agent_/, 'agent metrics only once an agent observes');
  assert.equal(await counterValue(m.limitRejections, { limit: 'early' }), 4, 'readable once bound');
  assert.equal(await m.load(), registry, 'one registry per Metrics');
});
