// StoreAvailability (ca/store-availability.ts): the verdict that drives a replica's health on etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreAvailability } from '../../ca/store-availability.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import type { Logger } from '../../shared/log.js';

function capture(): { log: Logger; events: { level: string; event: string; fields?: Record<string, unknown> }[] } {
  const events: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (event: string, fields?: Record<string, unknown>) => void events.push({ level, event, fields });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return { log, events };
}

/** A probe the test answers: each call waits for the test's verdict. */
function scriptedProbe() {
  const calls: { ok(): void; fail(msg: string): void; signal: AbortSignal }[] = [];
  let waiter: (() => void) | undefined;
  const probe = (signal: AbortSignal) =>
    new Promise<void>((ok, reject) => {
      calls.push({ ok, fail: (msg) => reject(new Error(msg)), signal });
      waiter?.();
    });
  const next = async () => {
    while (calls.length === 0) await new Promise<void>((r) => (waiter = r));
    return calls.shift()!;
  };
  return { probe, next };
}

test('two failed quorum reads in a row make the store unavailable, with a hint; one success makes it available', async () => {
  const clock = new FakeClock();
  const { log, events } = capture();
  const changes: boolean[] = [];
  const p = scriptedProbe();
  const a = new StoreAvailability(p.probe, clock, log, (v) => changes.push(v));
  assert.equal(a.available, true);

  let check = a.check();
  (await p.next()).fail('etcdserver: request timed out');
  await check;
  assert.equal(a.available, true, 'one miss is not an outage');
  assert.deepEqual(changes, []);

  check = a.check();
  (await p.next()).fail('etcdserver: request timed out');
  await check;
  assert.equal(a.available, false);
  assert.deepEqual(changes, [false]);
  const ev = events.find((e) => e.event === 'store.unavailable');
  assert.ok(ev, 'store.unavailable logged');
  assert.equal(ev.level, 'error');
  assert.match(String(ev.fields?.hint), /quorum/);
  assert.match(String(ev.fields?.err), /request timed out/);

  check = a.check();
  (await p.next()).fail('still down');
  await check;
  assert.deepEqual(changes, [false], 'no repeated change while it stays down');

  check = a.check();
  (await p.next()).ok();
  await check;
  assert.equal(a.available, true);
  assert.deepEqual(changes, [false, true]);
  assert.ok(events.some((e) => e.event === 'store.available'));
});

test('a probe that does not answer within the timeout is a miss, and its signal is aborted', async () => {
  const clock = new FakeClock();
  const changes: boolean[] = [];
  const p = scriptedProbe();
  const a = new StoreAvailability(p.probe, clock, capture().log, (v) => changes.push(v), { timeoutMs: 500, missesToFail: 1 });
  const check = a.check();
  const call = await p.next();
  assert.equal(await clock.nextSleep(), 500);
  clock.advance(499);
  await new Promise((r) => setImmediate(r));
  assert.equal(a.available, true, 'not before the timeout');
  clock.advance(1);
  await check;
  assert.equal(a.available, false);
  assert.equal(call.signal.aborted, true, 'the hung probe is told to give up');
  assert.deepEqual(changes, [false]);
});

test('the loop probes every interval, and stop() ends it without a verdict', async () => {
  const clock = new FakeClock();
  const changes: boolean[] = [];
  const p = scriptedProbe();
  const a = new StoreAvailability(p.probe, clock, capture().log, (v) => changes.push(v), { intervalMs: 2_000, timeoutMs: 1_000, missesToFail: 1 });
  a.start();
  assert.equal(await clock.nextSleep(), 2_000);
  clock.advance(2_000);
  (await p.next()).fail('down');
  await clock.nextSleep(); // the probe's timeout sleep
  assert.equal(await clock.nextSleep(), 2_000, 'the next interval starts after the verdict');
  assert.equal(a.available, false);
  clock.advance(2_000);
  const hung = await p.next();
  await a.stop();
  hung.ok();
  assert.deepEqual(changes, [false], 'a probe interrupted by stop() changes nothing');
});
