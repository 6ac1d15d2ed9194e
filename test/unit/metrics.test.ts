import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metrics, limitExceeded, counterValue } from '../../shared/metrics.js';
import type { Logger } from '../../shared/log.js';

test('limitExceeded counts the limit and logs limit.exceeded with its name', async () => {
  const lines: [string, Record<string, unknown> | undefined][] = [];
  const log = { warn: (e: string, f?: Record<string, unknown>) => lines.push([e, f]) } as unknown as Logger;
  const before = await counterValue(metrics.limitRejections, { limit: 'unit_test_limit' });
  limitExceeded(log, 'unit_test_limit', { peer: '127.0.0.1' });
  assert.equal(await counterValue(metrics.limitRejections, { limit: 'unit_test_limit' }), before + 1);
  assert.deepEqual(lines, [['limit.exceeded', { limit: 'unit_test_limit', peer: '127.0.0.1' }]]);
});
