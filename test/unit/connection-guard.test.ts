// Proves ConnectionGuard's accept-time bounds and its unauthenticated timeout with real TCP sockets and an
// injected clock: connections beyond the per-source and total bounds are closed at accept (and reported),
// the others are handed to `inject`, and those that never authenticate are closed when the clock says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { ConnectionGuard } from '../../shared/grpc/connection-guard.js';
import { resolveLimits, CA_PORT_LIMITS } from '../../shared/grpc/limits.js';
import { counterValue, metrics } from '../../shared/metrics.js';
import type { Logger } from '../../shared/log.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

function recordingLog(): Logger & { lines: { event: string; fields?: Record<string, unknown> }[] } {
  const lines: { event: string; fields?: Record<string, unknown> }[] = [];
  const log = {
    lines,
    debug: () => {},
    info: () => {},
    warn: (event: string, fields?: Record<string, unknown>) => void lines.push({ event, fields }),
    error: () => {},
    child: () => log,
  };
  return log;
}

async function open(port: number, localAddress: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  const closed = once(socket, 'close').then(() => {});
  socket.on('error', () => {});
  await once(socket, 'connect');
  return { socket, closed };
}

test('per-source and total bounds close excess connections at accept; the rest are injected', async () => {
  const clock = new FakeClock();
  const log = recordingLog();
  const limits = resolveLimits(CA_PORT_LIMITS, { maxConnectionsPerSource: 3, maxConnections: 5 });
  const guard = new ConnectionGuard(limits, { clock, log, port: 'ca' });
  const injected: Socket[] = [];
  const port = await guard.listen('127.0.0.1:0', (s) => injected.push(s));
  const perSourceBefore = await counterValue(metrics.limitRejections, { limit: 'max_connections_per_source' });
  const totalBefore = await counterValue(metrics.limitRejections, { limit: 'max_connections' });
  try {
    const a = await Promise.all([1, 2, 3, 4].map(() => open(port, '127.0.0.2')));
    // The fourth from 127.0.0.2 is closed by the guard; the first three stay.
    await Promise.race(a.map((c) => c.closed));
    const b = await Promise.all([1, 2, 3].map(() => open(port, '127.0.0.3')));
    // Total 5: two of 127.0.0.3's get in, the third is closed.
    await Promise.race(b.map((c) => c.closed));
    assert.equal(guard.stats.connections, 5);
    assert.equal(injected.length, 5);
    assert.equal((await counterValue(metrics.limitRejections, { limit: 'max_connections_per_source' })) - perSourceBefore, 1);
    assert.equal((await counterValue(metrics.limitRejections, { limit: 'max_connections' })) - totalBefore, 1);
    assert.deepEqual(log.lines.map((l) => [l.event, l.fields?.limit, l.fields?.source, l.fields?.max]), [
      ['limit.exceeded', 'max_connections_per_source', '127.0.0.2', 3],
      ['limit.exceeded', 'max_connections', '127.0.0.3', 5],
    ]);
    for (const c of [...a, ...b]) c.socket.destroy();
  } finally {
    const closed = guard.stopAccepting();
    guard.destroyAll();
    await closed;
  }
});

test('a connection that never authenticates is closed when the unauthenticated timeout passes, not before', async () => {
  const clock = new FakeClock();
  const log = recordingLog();
  const limits = resolveLimits(CA_PORT_LIMITS, { unauthenticatedTimeoutMs: 10_000 });
  const guard = new ConnectionGuard(limits, { clock, log, port: 'node' });
  const port = await guard.listen('127.0.0.1:0', () => {});
  try {
    const c = await open(port, '127.0.0.4');
    assert.equal(await clock.nextSleep(), 10_000);
    clock.advance(9_999);
    assert.equal(guard.stats.unauthenticated, 1);
    clock.advance(1);
    await c.closed;
    assert.equal(guard.stats.connections, 0);
    assert.deepEqual(log.lines.map((l) => [l.fields?.limit, l.fields?.port, l.fields?.source, l.fields?.after]), [
      ['unauthenticated_timeout', 'node', '127.0.0.4', '10s'],
    ]);
  } finally {
    const closed = guard.stopAccepting();
    guard.destroyAll();
    await closed;
  }
});

test('a connection that closes before the unauthenticated timeout cancels its timer: nothing is left pending, nothing reported', async () => {
  const clock = new FakeClock();
  const log = recordingLog();
  const limits = resolveLimits(CA_PORT_LIMITS, { unauthenticatedTimeoutMs: 10_000 });
  const guard = new ConnectionGuard(limits, { clock, log, port: 'ca' });
  const injected: Socket[] = [];
  const port = await guard.listen('127.0.0.1:0', (s) => injected.push(s));
  try {
    const c = await open(port, '127.0.0.5');
    assert.equal(await clock.nextSleep(), 10_000);
    assert.equal(clock.pendingSleeps, 1);
    c.socket.destroy();
    // The server side sees the close; its timer goes with it.
    await Promise.all(injected.map((s) => (s.closed ? undefined : once(s, 'close'))));
    assert.equal(guard.stats.connections, 0);
    assert.equal(clock.pendingSleeps, 0);
    clock.advance(10_000);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log.lines, []);
  } finally {
    const closed = guard.stopAccepting();
    guard.destroyAll();
    await closed;
  }
});
