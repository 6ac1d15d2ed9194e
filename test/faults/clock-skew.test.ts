// Short version of fault scenario 6 (test/faults/clock-skew.ts; the long one is `npm run faults`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { clockSkew } from './clock-skew.js';
import { formatTable } from './report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('agent clock ±5 min off the CA: joins and renewals work, the schedule stays in its window, status shows the skew', async () => {
  const r = await clockSkew({ dir: dir.path, seed: 1, log: () => {} }, { skewsMs: [5 * 60_000, -5 * 60_000] });
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.equal(r.cycles, 2);
  assert.equal(r.nodesLockedOut, 0);
});
