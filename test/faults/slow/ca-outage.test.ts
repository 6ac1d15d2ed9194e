// Short version of fault scenario 4 (test/faults/ca-outage.ts; the long one is `npm run faults`). Not in `npm test` (15-40 s here): `npm run test:faults`; the expiry case alone is test/faults/expiry.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../../helpers/tmp.js';
import { caOutage } from '../ca-outage.js';
import { CA_OUTAGE_SHORT } from '../scenarios.js';
import { formatTable } from '../report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('CA outage past the renewal window: agents keep serving, back off with jitter, renew when it returns; an expired agent exits 1 with the hint', async () => {
  const r = await caOutage({ dir: dir.path, seed: 1, log: () => {} }, CA_OUTAGE_SHORT);
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.equal(r.cycles, 1);
  assert.equal(r.failedHandshakes, 0);
  assert.equal(r.recoveryMs.length, 3);
  assert.match(r.notes.join('\n'), /exit code 1/);
});
