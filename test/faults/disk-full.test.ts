// Short version of fault scenario 7 (test/faults/disk-full.ts; the long one is `npm run faults`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { diskFull } from './disk-full.js';
import { formatTable } from './report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('agent state dir full during a renewal: old identity keeps serving, failure logged with a hint, renewal succeeds once space returns', async (t) => {
  const r = await diskFull({ dir: dir.path, seed: 1, log: () => {} }, { cycles: 1 });
  if (r.notes[0]?.startsWith('SKIPPED')) return t.skip(r.notes[0]);
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.equal(r.cycles, 1);
  assert.equal(r.certificatesLost, 0);
  assert.equal(r.nodesLockedOut, 0);
});
