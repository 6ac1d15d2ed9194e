// The CA endpoint policy (agent/ca-endpoints.ts), table-tested: parsing of --ca, which failures move the agent,
// the transitions (sticky, rotate on transport failures only, ignore stale reports, wrap around), and the
// full-jitter delay bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { HitlessError } from '../../shared/errors.js';
import { fromServiceError } from '../../shared/grpc/status.js';
import { serviceError } from '../helpers/service-error.js';
import {
  CA_BACKOFF, MAX_CA_ADDRESSES, caHopDelayMs, caRetryDelayMs, caStartIndex, classifyCaFailure, currentAddress, initialCaState, onCaOutcome, parseCaAddresses,
  type CaEndpointState,
} from '../../agent/ca-endpoints.js';

test('parseCaAddresses: comma-separated and repeated values, trimmed, deduplicated, order kept', () => {
  assert.deepEqual(parseCaAddresses(['127.0.0.1:7468']), ['127.0.0.1:7468']);
  assert.deepEqual(parseCaAddresses(['a.example:1, b.example:2', 'c.example:3', 'a.example:1']), ['a.example:1', 'b.example:2', 'c.example:3']);
  assert.deepEqual(parseCaAddresses(['[::1]:7468,10.0.0.1:7468,']), ['[::1]:7468', '10.0.0.1:7468']);
});

test('parseCaAddresses: malformed, empty or too many addresses are refused with a hint', () => {
  for (const bad of [['ca.example'], ['ca.example:'], ['ca.example:0'], ['ca.example:65536'], ['ca example:1'], ['::1:7468'], ['http://ca:1']]) {
    assert.throws(() => parseCaAddresses(bad), (err: HitlessError) => err.code === 'INVALID_ARGUMENT' && /--ca takes HOST:PORT/.test(err.message) && !!err.hint, bad[0]);
  }
  assert.throws(() => parseCaAddresses([' , ']), /names no address/);
  const many = Array.from({ length: MAX_CA_ADDRESSES + 1 }, (_, i) => `10.0.0.${i}:7468`);
  assert.throws(() => parseCaAddresses([many.join(',')]), /at most 16/);
  assert.equal(parseCaAddresses([many.slice(0, MAX_CA_ADDRESSES).join(',')]).length, MAX_CA_ADDRESSES);
  // The echo of a bad entry is bounded.
  assert.throws(() => parseCaAddresses(['x'.repeat(10_000)]), (err: Error) => err.message.length < 120);
});

test('classifyCaFailure: only unreachable / not answering in time moves the agent', () => {
  const transport = [
    serviceError(status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'),
    serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'),
    // A replica that is up but cannot serve (store locked, not ready) is UNAVAILABLE too: another may serve.
    fromServiceError(serviceError(status.UNAVAILABLE, 'the CA is not ready', 'CA_NOT_READY')),
    fromServiceError(serviceError(status.UNAVAILABLE, 'store locked', 'STORE_LOCKED')),
    // A replica cut off from etcd's quorum: another replica may still reach it.
    fromServiceError(serviceError(status.UNAVAILABLE, 'etcd has no quorum', 'STORE_UNAVAILABLE')),
    // Our own tour error, and the join's wrapper around it, keep the transport failure as their cause.
    new HitlessError('UNAVAILABLE', 'no CA address answered', { cause: serviceError(status.UNAVAILABLE, 'refused') }),
    new HitlessError('UNAVAILABLE', 'cannot reach the CA', {
      cause: new HitlessError('UNAVAILABLE', 'no CA address answered', { cause: serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded') }),
    }),
  ];
  for (const err of transport) assert.equal(classifyCaFailure(err), 'transport', (err as Error).message);
  const answers = [
    fromServiceError(serviceError(status.PERMISSION_DENIED, 'node was removed', 'NODE_REMOVED')),
    fromServiceError(serviceError(status.INVALID_ARGUMENT, 'invalid CSR', 'INVALID_CSR')),
    fromServiceError(serviceError(status.RESOURCE_EXHAUSTED, 'renewals per node', 'RATE_LIMITED')),
    fromServiceError(serviceError(status.UNAUTHENTICATED, 'bad token', 'INVALID_JOIN_TOKEN')),
    serviceError(status.INTERNAL, 'internal error (ref x)'),
    serviceError(status.PERMISSION_DENIED, 'no metadata'),
    new HitlessError('UNTRUSTED_PEER', 'bundle does not match the token digest'),
    // A local failure (the agent's disk is full) is no reason to try another CA.
    new HitlessError('UNAVAILABLE', 'cannot save the identity: no space left on device'),
    new HitlessError('UNAVAILABLE', 'cannot save the identity', { cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }) }),
    new Error('plain error'),
    undefined,
  ];
  for (const err of answers) assert.equal(classifyCaFailure(err), 'answer', String((err as Error | undefined)?.message));
});

const ABC = ['a:1', 'b:2', 'c:3'];
const transport = { kind: 'transport' } as const;
const ok = { kind: 'ok' } as const;
const answer = { kind: 'answer' } as const;

test('transitions: sticky on success, next address on a transport failure, wrap around, reset on any answer', () => {
  let s: CaEndpointState = initialCaState(ABC);
  assert.equal(currentAddress(s), 'a:1');
  const steps: [string, typeof ok | typeof answer | typeof transport, string, number, number, string?][] = [
    // address, outcome → current, failures, failovers, failover.to
    ['a:1', ok, 'a:1', 0, 0],
    ['a:1', transport, 'b:2', 1, 1, 'b:2'],
    ['b:2', transport, 'c:3', 2, 2, 'c:3'],
    ['c:3', transport, 'a:1', 3, 3, 'a:1'],
    ['a:1', answer, 'a:1', 0, 3], // the CA answered (e.g. PERMISSION_DENIED): stay, the path works
    ['a:1', transport, 'b:2', 1, 4, 'b:2'],
    ['b:2', ok, 'b:2', 0, 4], // sticky: no way back to a:1 while b:2 works
    ['b:2', ok, 'b:2', 0, 4],
  ];
  for (const [address, outcome, current, failures, failovers, to] of steps) {
    const t = onCaOutcome(s, address, outcome);
    s = t.state;
    assert.deepEqual([currentAddress(s), s.failures, s.failovers, t.failover?.to], [current, failures, failovers, to], `${address} ${outcome.kind}`);
    if (t.failover) assert.equal(t.failover.from, address);
  }
});

test('a late failure of an address already left changes nothing (two callers failing on A move once)', () => {
  let s = initialCaState(ABC);
  s = onCaOutcome(s, 'a:1', transport).state; // the renewal found A down: now on B
  const late = onCaOutcome(s, 'a:1', transport); // the watch's attempt on A fails a moment later
  assert.equal(late.failover, undefined);
  assert.equal(late.state, s);
  assert.equal(currentAddress(late.state), 'b:2', 'B is not skipped');
  // A success on an address already left does not pull the agent back, but proves a CA answers.
  const elsewhere = onCaOutcome(s, 'a:1', ok).state;
  assert.deepEqual([currentAddress(elsewhere), elsewhere.failures], ['b:2', 0]);
});

test('one address: failures are counted, never a failover', () => {
  let s = initialCaState(['only:1']);
  for (let i = 1; i <= 3; i++) {
    const t = onCaOutcome(s, 'only:1', transport);
    assert.equal(t.failover, undefined);
    s = t.state;
    assert.deepEqual([currentAddress(s), s.failures, s.failovers], ['only:1', i, 0]);
  }
  assert.throws(() => initialCaState([]), RangeError);
});

test('start: the first address, or a random pick spread over every address', () => {
  assert.equal(currentAddress(initialCaState(ABC, 2)), 'c:3');
  for (const bad of [-1, 3, 0.5]) assert.throws(() => initialCaState(ABC, bad), RangeError);
  assert.equal(caStartIndex('first', 3, () => 0.99), 0);
  assert.deepEqual([0, 0.33, 0.34, 0.67, 0.999999].map((r) => caStartIndex('random', 3, () => r)), [0, 0, 1, 2, 2]);
  assert.equal(caStartIndex('random', 3, () => 1), 2, 'a random() of exactly 1 stays in range');
});

test('caRetryDelayMs: 0 with no failure; full jitter in [floor, min(cap, base·2^failures)]', () => {
  assert.equal(caRetryDelayMs(0, () => 0.99), 0);
  const table: [number, number, number][] = [
    // failures, random, expected ms
    [1, 0, CA_BACKOFF.floorMs],
    [1, 1, 1_000],
    [1, 0.5, 500],
    [2, 1, 2_000],
    [3, 1, 4_000],
    [4, 1, 8_000],
    [5, 1, CA_BACKOFF.capMs],
    [50, 1, CA_BACKOFF.capMs],
    [50, 0.5, CA_BACKOFF.capMs / 2],
    [50, 0, CA_BACKOFF.floorMs],
  ];
  for (const [failures, r, ms] of table) assert.equal(caRetryDelayMs(failures, () => r), ms, `failures ${failures}, random ${r}`);
});

test('caHopDelayMs: a hop inside one operation waits full jitter over 0-1 s, never more', () => {
  assert.deepEqual([0, 0.25, 0.5, 1].map((r) => caHopDelayMs(() => r)), [CA_BACKOFF.floorMs, 250, 500, 1_000]);
});
