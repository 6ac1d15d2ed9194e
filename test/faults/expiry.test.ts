// The expiry case of fault scenario 4 (test/faults/ca-outage.ts), alone: the CA stays down past a 10 s
// certificate's notAfter; the agent logs identity.expired with the re-join hint, prints it, and exits 1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { expiryCase } from './ca-outage.js';
import { formatTable, newResult } from './report.js';

const dir = await tmpDir();
after(() => dir.cleanup());

test('a certificate that expires while the CA is down: identity.expired with the re-join hint, exit code 1', async () => {
  const r = newResult('4 expiry', '-');
  await expiryCase({ dir: dir.path, seed: 1, log: () => {} }, r);
  assert.deepEqual(r.problems, [], formatTable([r]));
  assert.match(r.notes.join('\n'), /exit code 1/);
});
