// Proves the CA's setting limits at their boundaries (TTL, backdate, connection age) and how ca.json is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import { BACKDATE, NODE_CERT_TTL, checkBackdate, checkNodeCertTtl, readClusterConfig, statePaths } from '../../ca/config.js';
import { maxConnectionAgeMs } from '../../shared/connection-age.js';
import { RENEW_WINDOW } from '../../agent/renewal-schedule.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

function isCode(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

test('limits are as documented', () => {
  assert.deepEqual(NODE_CERT_TTL, { defaultMs: 6 * H, minMs: 10 * S, maxMs: 24 * H, warnBelowMs: M });
  assert.deepEqual(BACKDATE, { defaultMs: 5 * M, maxMs: H });
});

// [ttl, outcome]: 'throw' | 'warn' | 'ok'
const ttlCases: [string, number, 'throw' | 'warn' | 'ok'][] = [
  ['0', 0, 'throw'],
  ['negative', -10 * S, 'throw'],
  ['9s', 9 * S, 'throw'],
  ['10s - 1ms', 10 * S - 1, 'throw'],
  ['10s', 10 * S, 'warn'],
  ['59s', 59 * S, 'warn'],
  ['1m - 1ms', M - 1, 'warn'],
  ['60s', M, 'ok'],
  ['6h (default)', 6 * H, 'ok'],
  ['24h', 24 * H, 'ok'],
  ['24h + 1ms', 24 * H + 1, 'throw'],
  ['48h', 48 * H, 'throw'],
];

for (const [name, ms, outcome] of ttlCases) {
  test(`checkNodeCertTtl ${name}: ${outcome}`, () => {
    if (outcome === 'throw') {
      assert.throws(() => checkNodeCertTtl(ms), isCode('INVALID_ARGUMENT'));
    } else if (outcome === 'warn') {
      const warning = checkNodeCertTtl(ms);
      assert.equal(typeof warning, 'string');
      assert.ok(warning!.length > 0);
    } else {
      assert.equal(checkNodeCertTtl(ms), undefined);
    }
  });
}

test('the TTL refusal states the allowed range and has a hint', () => {
  assert.throws(() => checkNodeCertTtl(9 * S), (err: HitlessError) => /10s/.test(err.message) && /24h/.test(err.message) && !!err.hint);
});

const backdateCases: [string, number, boolean][] = [
  ['-1ms', -1, false],
  ['0', 0, true],
  ['1m (default)', M, true],
  ['1h', H, true],
  ['1h + 1ms', H + 1, false],
];

for (const [name, ms, ok] of backdateCases) {
  test(`checkBackdate ${name}: ${ok ? 'ok' : 'INVALID_ARGUMENT'}`, () => {
    if (ok) assert.equal(checkBackdate(ms), undefined);
    else assert.throws(() => checkBackdate(ms), isCode('INVALID_ARGUMENT'));
  });
}

// A tenth of the certificate lifetime, at least 1 s, at most 30 minutes.
const ageCases: [string, number, number][] = [
  ['10s (floor reached exactly)', 10 * S, S],
  ['20s', 20 * S, 2 * S],
  ['1m', M, 6 * S],
  ['1h', H, 6 * M],
  ['5h (cap reached exactly)', 5 * H, 30 * M],
  ['6h (capped)', 6 * H, 30 * M],
  ['24h (capped)', 24 * H, 30 * M],
  ['1s (floored)', S, S],
  ['0 (floored)', 0, S],
  ['20009ms (rounded down)', 20_009, 2_000],
];

test('a connection made just before a renewal is gone before that certificate expires, for every allowed TTL', () => {
  // Renewal happens with at least (1 - RENEW_WINDOW.to) of the lifetime left; grpc-js jitters the age by up to +10 %.
  for (let ttl = 10 * S; ttl <= 24 * H; ttl += ttl < M ? S : ttl < H ? M : 30 * M) {
    const left = (1 - RENEW_WINDOW.to) * ttl;
    assert.ok(maxConnectionAgeMs(ttl) * 1.1 < left, `TTL ${ttl} ms: age ${maxConnectionAgeMs(ttl)} ms vs ${left} ms left at renewal`);
  }
});

for (const [name, ttl, want] of ageCases) {
  test(`maxConnectionAgeMs ${name} = ${want}`, () => assert.equal(maxConnectionAgeMs(ttl), want));
}

test('statePaths lays out the state directory', () => {
  assert.deepEqual(statePaths('/s'), {
    dir: '/s',
    config: '/s/ca.json',
    rootCert: '/s/root.crt',
    rootKey: '/s/root.key.enc',
    store: '/s/store',
    adminSocket: '/s/admin.sock',
  });
});

test('readClusterConfig: NOT_FOUND without ca.json, INVALID_ARGUMENT for another version, the config otherwise', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
  try {
    const paths = statePaths(dir);
    await assert.rejects(readClusterConfig(paths), isCode('NOT_FOUND'));
    const config = { version: 1, clusterId: 'c', nodeCertTtlMs: 6 * H, backdateMs: M, createdAt: '2030-01-01T00:00:00.000Z' };
    await writeFile(paths.config, JSON.stringify({ ...config, version: 2 }));
    await assert.rejects(readClusterConfig(paths), isCode('INVALID_ARGUMENT'));
    await writeFile(paths.config, JSON.stringify(config));
    assert.deepEqual(await readClusterConfig(paths), config);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
