// ca/prune-schedule.ts: the embedded CA prunes once its start has settled and then every period (it used to
// prune only at start, so records piled up for as long as it ran); a replica prunes only while it leads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPruning } from '../../ca/prune-schedule.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { silentLogger } from '../../shared/log.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

test('prunes after the settle delay, then every period, until stopped', async () => {
  const clock = new FakeClock();
  let pruned = 0;
  const stop = startPruning({ clock, log: silentLogger, firstAfterMs: 2_000, everyMs: 600_000, isLeader: () => true, prune: async () => void pruned++ });
  assert.equal(await clock.nextSleep(), 2_000);
  clock.advance(2_000);
  assert.equal(await clock.nextSleep(), 600_000);
  assert.equal(pruned, 1);
  for (let i = 2; i <= 4; i++) {
    clock.advance(600_000);
    await clock.nextSleep();
    assert.equal(pruned, i);
  }
  await stop();
  clock.advance(600_000);
  await turn();
  assert.equal(pruned, 4, 'nothing after stop');
});

test('a replica prunes only while it leads; compaction follows a prune from its second period as leader; a failed prune does not end the schedule', async () => {
  const clock = new FakeClock();
  let leader = false;
  const calls: string[] = [];
  const stop = startPruning({
    clock,
    log: silentLogger,
    firstAfterMs: 1_000,
    everyMs: 1_000,
    isLeader: () => leader,
    prune: async () => {
      calls.push('prune');
      if (calls.length === 1) throw new Error('etcd unavailable');
    },
    afterPrune: async (ledBefore) => void calls.push(`after(${ledBefore})`),
  });
  for (let i = 0; i < 2; i++) {
    clock.advance(await clock.nextSleep());
  }
  await clock.nextSleep();
  assert.deepEqual(calls, [], 'not a leader: no prune');
  leader = true;
  clock.advance(1_000);
  await clock.nextSleep();
  clock.advance(1_000);
  await clock.nextSleep();
  assert.deepEqual(calls, ['prune', 'after(false)', 'prune', 'after(true)']);
  leader = false;
  clock.advance(1_000);
  await clock.nextSleep();
  leader = true;
  clock.advance(1_000);
  await clock.nextSleep();
  assert.deepEqual(calls.slice(4), ['prune', 'after(false)'], 'leading again starts over: no compaction to a revision seen before');
  await stop();
});
