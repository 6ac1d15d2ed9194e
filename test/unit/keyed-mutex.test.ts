// Proves KeyedMutex: tasks under one key run one at a time in call order, tasks under different keys run
// concurrently, results and rejections reach their own caller, and a rejection does not block the next task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from '../../shared/keyed-mutex.js';

interface Gate {
  promise: Promise<void>;
  open(): void;
  fail(err: Error): void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets pending continuations run (event-loop turns, no timers). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

test('same key: tasks run one at a time, in call order', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const gates = [gate(), gate(), gate()];
  const results = gates.map((g, i) =>
    m.run('k', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${i}`);
      await g.promise;
      log.push(`end ${i}`);
      running--;
      return i;
    }),
  );
  await turns();
  assert.deepEqual(log, ['start 0'], 'only the first has started');
  // Releasing a later task first does not let it jump the queue.
  gates[2]!.open();
  gates[1]!.open();
  await turns();
  assert.deepEqual(log, ['start 0']);
  gates[0]!.open();
  assert.deepEqual(await Promise.all(results), [0, 1, 2]);
  assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  assert.equal(maxRunning, 1);
});

test('different keys run concurrently', async () => {
  const m = new KeyedMutex();
  const started: string[] = [];
  const ga = gate();
  const gb = gate();
  const pa = m.run('a', async () => {
    started.push('a');
    await ga.promise;
    return 'a';
  });
  const pb = m.run('b', async () => {
    started.push('b');
    await gb.promise;
    return 'b';
  });
  await turns();
  assert.deepEqual(started.sort(), ['a', 'b'], 'b started while a is still held');
  gb.open();
  assert.equal(await pb, 'b', 'b finishes while a is still held');
  ga.open();
  assert.equal(await pa, 'a');
});

test('a rejection reaches its caller and does not block the next task under the key', async () => {
  const m = new KeyedMutex();
  const g = gate();
  const boom = new Error('boom');
  const first = m.run('k', async () => {
    await g.promise;
    return 1;
  });
  const second = m.run('k', async () => 2);
  const syncThrow = m.run('k', () => {
    throw new Error('sync boom');
  });
  const fourth = m.run('k', async () => 4);
  g.fail(boom);
  await assert.rejects(first, (err) => err === boom);
  assert.equal(await second, 2);
  await assert.rejects(syncThrow, /sync boom/);
  assert.equal(await fourth, 4);
  // And the key is usable afterwards.
  assert.equal(await m.run('k', async () => 5), 5);
});

test('the key is free again once its queue drains (a later task starts at once)', async () => {
  const m = new KeyedMutex();
  await m.run('k', async () => undefined);
  let started = false;
  const g = gate();
  const p = m.run('k', async () => {
    started = true;
    await g.promise;
  });
  await turns(1);
  assert.equal(started, true);
  g.open();
  await p;
});
