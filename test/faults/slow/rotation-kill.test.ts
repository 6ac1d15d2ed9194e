// Short version of fault scenario 2 (test/faults/rotation-kill.ts; the long one is `npm run faults`). Not in `npm test` (a rotation and a CA restart take 15-40 s here): `npm run test:faults`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../../helpers/tmp.js';
import { rotationKill } from '../rotation-kill.js';
import { formatTable } from '../report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('CA SIGKILLed while finishing a root rotation: it resumes and finishes, 0 failed handshakes between agents', async () => {
  const r = await rotationKill({ dir: dir.path, seed: 1, log: () => {} }, { phases: ['finishing'], agents: 3 });
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.equal(r.cycles, 1);
  assert.equal(r.failedHandshakes, 0);
});
