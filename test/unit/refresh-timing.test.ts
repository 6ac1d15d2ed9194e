// The refreshing stream's timing policy (shared/grpc/refresh-timing.ts), case by case: pure functions of the
// clock's reading, so each case is a row. The stream's use of them is covered by refreshing-stream.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MIN_EXPIRY_REFRESH_MS,
  MIN_SERVER_REQUEST_MS,
  backoffDelayMs,
  expiryRefresh,
  serverRequestDelayMs,
  spreadDelayMs,
} from '../../shared/grpc/refresh-timing.js';

const T0 = Date.parse('2026-12-03T09:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

test('backoff doubles from the base up to the cap, jittered between half and all of the step', () => {
  const o = { baseMs: 500, capMs: 5_000 };
  const rows: [failures: number, random: number, ms: number][] = [
    [1, 0, 250],
    [1, 1, 500],
    [2, 1, 1_000],
    [4, 1, 4_000],
    [5, 1, 5_000],
    [50, 0, 2_500],
    [0, 1, 500],
  ];
  for (const [failures, random, ms] of rows) assert.equal(backoffDelayMs(failures, o, () => random), ms, `failures ${failures}, random ${random}`);
});

test("a server's request moves at once unless the leg is young and opened with our current credentials", () => {
  const rows: [what: string, legCredentials: number, credentials: number, openedMsAgo: number, ms: number][] = [
    ['opened before our last credential change', 1, 2, 0, 0],
    ['current credentials, just opened', 2, 2, 0, MIN_SERVER_REQUEST_MS],
    ['current credentials, 400 ms old', 2, 2, 400, MIN_SERVER_REQUEST_MS - 400],
    ['current credentials, old enough', 2, 2, MIN_SERVER_REQUEST_MS + 1, 0],
  ];
  for (const [what, legCredentials, credentials, openedMsAgo, ms] of rows) {
    assert.equal(serverRequestDelayMs({ credentials: legCredentials, openedAt: at(-openedMsAgo) }, credentials, T0), ms, what);
  }
});

test('the spread window is capped at a tenth of the time left before the nearest expiry; 0 turns it off', () => {
  const rows: [what: string, windowMs: number, expiries: (Date | undefined)[], ms: number][] = [
    ['no expiry known: the whole window', 1_000, [undefined, undefined], 1_000],
    ['far expiries: the whole window', 1_000, [at(3_600_000), at(60_000)], 1_000],
    ['the nearer expiry 5 s away: 500 ms', 1_000, [at(60_000), at(5_000)], 500],
    ['an expired certificate: at once', 1_000, [at(-1), at(60_000)], 0],
    ['window 0: at once', 0, [at(60_000)], 0],
  ];
  for (const [what, windowMs, expiries, ms] of rows) assert.equal(spreadDelayMs(windowMs, expiries, T0, () => 1), ms, what);
  let drawn = 0;
  spreadDelayMs(0, [], T0, () => drawn++);
  assert.equal(drawn, 0, 'no random draw when the window is off');
});

test('the expiry move aims at the nearer end (the peer first on a tie), three quarters of the way, at least 1 s out', () => {
  assert.equal(expiryRefresh(undefined, undefined, T0), undefined);
  assert.deepEqual(expiryRefresh(at(40_000), at(80_000), T0), { trigger: 'peer-expiry', waitMs: 30_000 });
  assert.deepEqual(expiryRefresh(at(80_000), at(40_000), T0), { trigger: 'own-expiry', waitMs: 30_000 });
  assert.deepEqual(expiryRefresh(undefined, at(40_000), T0), { trigger: 'own-expiry', waitMs: 30_000 });
  assert.deepEqual(expiryRefresh(at(40_000), at(40_000), T0), { trigger: 'peer-expiry', waitMs: 30_000 });
  assert.deepEqual(expiryRefresh(at(400), undefined, T0), { trigger: 'peer-expiry', waitMs: MIN_EXPIRY_REFRESH_MS });
});
