// Short version of fault scenario 1 (test/faults/ca-kill-storm.ts; the long one is `npm run faults`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { caKillStorm } from './ca-kill-storm.js';
import { formatTable } from './report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('CA SIGKILLed during a renewal storm: every certificate received is on record, no node locked out', async () => {
  const r = await caKillStorm({ dir: dir.path, seed: 1, log: () => {} }, { cycles: 2, nodes: 4, maxKillDelayMs: 150 });
  assert.equal(r.cycles, 2);
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.equal(r.certificatesLost, 0);
  assert.equal(r.nodesLockedOut, 0);
  assert.equal(r.recoveryMs.length, 2);
});
