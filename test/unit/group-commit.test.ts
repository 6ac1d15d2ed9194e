// Proves ca/group-commit.ts: writes queued during a batch go together in the next one, in order; a failed batch
// rejects its writes only; a write rejected early by the batch writer stays rejected; a write queued by a
// caller the moment its batch resolves is still written (the flag is cleared synchronously).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit, type Queued } from '../../ca/group-commit.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('writes that arrive during a batch go together in the next one, in arrival order', async () => {
  const batches: number[][] = [];
  const first = gate();
  const gc = new GroupCommit<number>(async (batch) => {
    batches.push(batch.map((q) => q.item));
    if (batches.length === 1) await first.opened;
  });
  const done = [gc.add(1), gc.add(2), gc.add(3), gc.add(4)];
  first.open();
  await Promise.all(done);
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
  await gc.settled();
});

test('a failed batch rejects its own writes, not the next batch; an early rejection stays a rejection', async () => {
  const first = gate();
  let n = 0;
  const gc = new GroupCommit<string>(async (batch: Queued<string>[]) => {
    n += 1;
    if (n === 1) {
      await first.opened;
      throw new Error('disk full');
    }
    for (const q of batch) if (q.item === 'conflict') q.reject(new Error('conflict'));
  });
  const a = gc.add('a');
  const b = gc.add('b');
  const conflict = gc.add('conflict');
  first.open();
  await assert.rejects(a, /disk full/);
  await b;
  await assert.rejects(conflict, /conflict/);
});

test('a write queued as its caller resumes from the previous batch is written (no lost wake-up)', async () => {
  const written: string[] = [];
  const gc = new GroupCommit<string>(async (batch) => {
    written.push(...batch.map((q) => q.item));
  });
  const second = gc.add('first').then(() => gc.add('second'));
  await second;
  assert.deepEqual(written, ['first', 'second']);
  await gc.settled();
});
