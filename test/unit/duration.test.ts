// Proves human durations parse and format as documented, round-trip, and that anything else is INVALID_ARGUMENT naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HitlessError } from '../../shared/errors.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

const parses: [string, number][] = [
  ['500ms', 500],
  ['10s', 10 * S],
  ['90m', 90 * M],
  ['6h', 6 * H],
  ['1d', 24 * H],
  ['1h30m', H + 30 * M],
  ['1m30s', 90 * S],
  ['1h1m1s1ms', H + M + S + 1],
  ['1.5s', 1_500],
  ['0.5h', 30 * M],
  ['0s', 0],
  ['0ms', 0],
  ['  10s\n', 10 * S],
];

for (const [text, ms] of parses) {
  test(`parseDuration(${JSON.stringify(text)}) = ${ms}`, () => assert.equal(parseDuration(text), ms));
}

const invalid = ['10', '', '   ', 'abc', '5x', '10S', 's', '-5s', '+5s', '1.s', '.5s', '1h 30m', '10s ms', '1,5s', '10sec', 'h1'];

for (const text of invalid) {
  test(`parseDuration(${JSON.stringify(text)}) is INVALID_ARGUMENT`, () => {
    assert.throws(
      () => parseDuration(text),
      (err: unknown) => {
        assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.ok(err.hint, 'a hint with the accepted forms');
        return true;
      },
    );
  });
}

test('the error names the setting being parsed', () => {
  assert.throws(() => parseDuration('10', '--node-cert-ttl'), /--node-cert-ttl/);
});

const formats: [number, string][] = [
  [500, '500ms'],
  [1_500, '1500ms'],
  [10 * S, '10s'],
  [90 * S, '90s'],
  [M, '1m'],
  [90 * M, '90m'],
  [H, '1h'],
  [6 * H, '6h'],
  [24 * H, '24h'],
];

for (const [ms, text] of formats) {
  test(`formatDuration(${ms}) = ${text}`, () => assert.equal(formatDuration(ms), text));
}

test('format then parse is the identity', () => {
  for (const ms of [0, 1, 999, 1_000, 59_999, 60_000, 61_000, 3_599_000, H, 25 * H, 10 * 365 * 24 * H]) {
    assert.equal(parseDuration(formatDuration(ms)), ms, String(ms));
  }
});
