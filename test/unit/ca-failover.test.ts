// The CaFailover driver (agent/ca-failover.ts) under a FakeClock: a tour waits exactly the policy's jittered
// delay between addresses, stays on the address that answered, throws answers at once without a tour, names
// every address when all failed, moves once when two callers fail on the same address, and counts and logs
// each failover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { Logger } from '../../shared/log.js';
import { fromServiceError } from '../../shared/grpc/status.js';
import { metrics, counterValue } from '../../shared/metrics.js';
import { CaFailover } from '../../agent/ca-failover.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { serviceError } from '../helpers/service-error.js';

function recordingLog() {
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (event: string, fields: Record<string, unknown> = {}) => void events.push({ level, event, fields });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return { log, events };
}

const refused = (addr: string) => serviceError(status.UNAVAILABLE, `No connection established. Last error: connect ECONNREFUSED ${addr}`);
const denied = () => fromServiceError(serviceError(status.PERMISSION_DENIED, 'node n-1 was removed', 'NODE_REMOVED'));

/** A fake CA fleet: each address either answers `ok`, fails at transport level, or answers with an error. */
function fleet(behaviour: Record<string, 'up' | 'down' | 'denies'>) {
  const calls: string[] = [];
  const fn = async (address: string) => {
    calls.push(address);
    const b = behaviour[address];
    if (b === 'up') return `issued by ${address}`;
    if (b === 'denies') throw denied();
    throw refused(address);
  };
  return { calls, fn, behaviour };
}

function harness(addresses: string[], random = () => 0.5) {
  const clock = new FakeClock();
  const { log, events } = recordingLog();
  const failover = new CaFailover(addresses, { clock, log, random });
  return { clock, failover, events };
}

test('DEAD,LIVE: the first call waits the jittered delay once, then stays on LIVE with no delay', async () => {
  const h = harness(['dead:1', 'live:2']);
  const f = fleet({ 'dead:1': 'down', 'live:2': 'up' });
  const before = await counterValue(metrics.agentCaFailovers, { operation: 'bundle' });
  const first = h.failover.call('bundle', f.fn);
  // One transport failure: full jitter over [0, 1 s], random 0.5 → 500 ms.
  assert.equal(await h.clock.nextSleep(), 500);
  h.clock.advance(500);
  assert.equal(await first, 'issued by live:2');
  assert.deepEqual(f.calls, ['dead:1', 'live:2']);
  assert.deepEqual(h.failover.status(), { address: 'live:2', addresses: ['dead:1', 'live:2'], failovers: 1, failures: 0 });
  assert.equal(await counterValue(metrics.agentCaFailovers, { operation: 'bundle' }), before + 1);
  const ev = h.events.find((e) => e.event === 'ca.failover')!;
  assert.equal(ev.level, 'warn');
  assert.deepEqual([ev.fields.from, ev.fields.to, ev.fields.operation, ev.fields.code], ['dead:1', 'live:2', 'bundle', status.UNAVAILABLE]);
  assert.match(String(ev.fields.reason), /ECONNREFUSED dead:1/);

  // Sticky: later calls go straight to live:2, no sleep.
  assert.equal(await h.failover.call('renew', f.fn), 'issued by live:2');
  assert.equal(await h.failover.call('renew', f.fn), 'issued by live:2');
  assert.deepEqual(f.calls.slice(2), ['live:2', 'live:2']);
  assert.equal(h.clock.sleeps.length, 1);
});

test('an answer (PERMISSION_DENIED) is thrown at once: no tour of the replicas, no delay, no failover', async () => {
  const h = harness(['a:1', 'b:2', 'c:3']);
  const f = fleet({ 'a:1': 'denies', 'b:2': 'up', 'c:3': 'up' });
  await assert.rejects(h.failover.call('renew', f.fn), (err: Error & { code?: string }) => err.code === 'NODE_REMOVED');
  assert.deepEqual(f.calls, ['a:1']);
  assert.equal(h.clock.sleeps.length, 0);
  assert.equal(h.failover.status().failovers, 0);
  assert.equal(h.events.length, 0);
});

test('every address down: one try each with 0-1 s jittered hops, then UNAVAILABLE naming each address', async () => {
  const h = harness(['a:1', 'b:2', 'c:3'], () => 1);
  const f = fleet({ 'a:1': 'down', 'b:2': 'down', 'c:3': 'down' });
  const p = h.failover.call('renew', f.fn);
  const waits: number[] = [];
  for (let i = 0; i < 2; i++) {
    const ms = await h.clock.nextSleep();
    waits.push(ms);
    h.clock.advance(ms);
  }
  await assert.rejects(p, (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /no CA address answered: a:1: .*ECONNREFUSED a:1.*, b:2: .*, c:3: /);
    assert.match(err.hint!, /--ca/);
    return true;
  });
  assert.deepEqual(f.calls, ['a:1', 'b:2', 'c:3']);
  assert.deepEqual(waits, [1_000, 1_000], 'random 1: the 1 s ceiling of a hop');
  // The next operation starts where the tour ended (a:1 again, after wrapping). Its hops do not grow with the
  // outage (the caller's schedule spaces tours); the count of failures in a row does, for the streams' delay.
  const status1 = h.failover.status();
  assert.deepEqual([status1.address, status1.failures, status1.failovers], ['a:1', 3, 3]);
  const next = h.failover.call('renew', f.fn);
  assert.equal(await h.clock.nextSleep(), 1_000);
  h.clock.advance(1_000);
  assert.equal(await h.clock.nextSleep(), 1_000);
  h.clock.advance(1_000);
  await assert.rejects(next);
  assert.equal(h.failover.retryDelayMs(1), 15_000, '6 failures in a row: a stream waits up to the cap');
  // Once one answers, the count resets: the next failure waits the short first delay again.
  f.behaviour['a:1'] = 'up';
  assert.equal(await h.failover.call('renew', f.fn), 'issued by a:1');
  assert.equal(h.failover.status().failures, 0);
});

test('one address: the error itself is thrown, nothing waits (the caller backs off)', async () => {
  const h = harness(['only:1']);
  const f = fleet({ 'only:1': 'down' });
  await assert.rejects(h.failover.call('renew', f.fn), (err: Error & { code?: number }) => err.code === status.UNAVAILABLE && /ECONNREFUSED only:1/.test(err.message));
  assert.equal(h.clock.sleeps.length, 0);
  assert.equal(h.failover.status().failures, 1);
});

test('two callers failing on A at once move the agent once, to B (B is not skipped)', async () => {
  const h = harness(['a:1', 'b:2', 'c:3']);
  const f = fleet({ 'a:1': 'down', 'b:2': 'up', 'c:3': 'up' });
  const renew = h.failover.call('renew', f.fn);
  // The watch's attempt on A, which began before the move, fails after it.
  h.failover.report('watch', 'a:1', refused('a:1'));
  h.clock.advance(await h.clock.nextSleep());
  assert.equal(await renew, 'issued by b:2');
  assert.equal(h.failover.current, 'b:2');
  assert.equal(h.failover.status().failovers, 1);
  assert.equal(h.events.filter((e) => e.event === 'ca.failover').length, 1);
});

test('retryDelayMs for streams: full jitter over the larger of the stream\'s and the agent\'s failures in a row', () => {
  const h = harness(['a:1', 'b:2'], () => 1);
  assert.equal(h.failover.retryDelayMs(1), 1_000);
  // A stream refused with an answer (not a transport failure) still backs off by its own count.
  assert.equal(h.failover.retryDelayMs(3), 4_000);
  h.failover.report('watch', 'a:1', refused('a:1'));
  h.failover.report('watch', 'b:2', refused('b:2'));
  h.failover.report('watch', 'a:1', refused('a:1'));
  assert.equal(h.failover.retryDelayMs(1), 4_000);
  assert.equal(h.failover.retryDelayMs(100), 15_000, 'capped');
});

test('--ca-start random: the agent begins at the drawn address and is sticky there', async () => {
  const clock = new FakeClock();
  const failover = new CaFailover(['a:1', 'b:2', 'c:3'], { clock, log: recordingLog().log, random: () => 0.5 }, 'random');
  assert.equal(failover.current, 'b:2');
  const f = fleet({ 'a:1': 'up', 'b:2': 'up', 'c:3': 'up' });
  assert.equal(await failover.call('renew', f.fn), 'issued by b:2');
  assert.equal(failover.status().failovers, 0);
  assert.equal(new CaFailover(['a:1', 'b:2'], { clock, log: recordingLog().log, random: () => 0.99 }).current, 'a:1', 'default: first');
});

test('an aborted signal (the agent stopping) ends a tour at the hop: no further address is tried', async () => {
  const h = harness(['a:1', 'b:2', 'c:3']);
  const f = fleet({ 'a:1': 'down', 'b:2': 'down', 'c:3': 'up' });
  const stopping = new AbortController();
  const p = h.failover.call('renew', f.fn, stopping.signal);
  await h.clock.nextSleep();
  stopping.abort();
  await assert.rejects(p, { name: 'AbortError' });
  assert.deepEqual(f.calls, ['a:1']);
  await assert.rejects(h.failover.call('renew', f.fn, stopping.signal), { name: 'AbortError' });
  assert.deepEqual(f.calls, ['a:1'], 'nothing is tried once stopping');
});
