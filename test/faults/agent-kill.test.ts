// Short version of fault scenario 3 (test/faults/agent-kill.ts; the long one is `npm run faults`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { agentKill } from './agent-kill.js';
import { formatTable } from './report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('agent SIGKILLed after the CA answered and in the middle of the identity write: key and cert match, serial on record, it renews on its own', async () => {
  const r = await agentKill({ dir: dir.path, seed: 1, log: () => {} }, { pointCycles: 2, points: ['after-response', 'temp-written'], randomCycles: 0 });
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.equal(r.cycles, 2);
  assert.equal(r.certificatesLost, 0);
  assert.equal(r.nodesLockedOut, 0);
  assert.equal(r.recoveryMs.length, 2);
  assert.match(r.notes[0]!, /a temp file was left [1-9]/, 'the temp-written kill left its temp file for the agent to remove');
});
