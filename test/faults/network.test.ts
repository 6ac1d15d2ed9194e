// Short version of fault scenario 5 (test/faults/network.ts; the long one is `npm run faults`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { brokenNetwork } from './network.js';
import { NETWORK_SHORT } from './scenarios.js';
import { formatTable } from './report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('blackholed and reset paths: streams end with a clear error within the keepalive bound and come back; bad paths never corrupt a renewal', async () => {
  const r = await brokenNetwork({ dir: dir.path, seed: 1, log: () => {} }, NETWORK_SHORT);
  const table = formatTable([r]);
  assert.deepEqual(r.problems, [], table);
  assert.equal(r.cycles, 5, table);
  assert.equal(r.certificatesLost, 0);
  assert.equal(r.nodesLockedOut, 0);
  assert.match(r.notes[1]!, /: 2 ok, 0 failed/, table);
});
