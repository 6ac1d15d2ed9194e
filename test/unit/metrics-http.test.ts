// The /metrics listener's bounds, on a real socket: only GET /metrics, oversized headers refused, a usage
// error for a bad address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { Metrics, counterValue, metrics } from '../../shared/metrics.js';
import { parseHostPort, startMetricsServer, METRICS_HTTP_LIMITS } from '../../shared/metrics-http.js';
import { silentLogger } from '../../shared/log.js';

test('parseHostPort takes HOST:PORT and [v6]:PORT, and refuses the rest with a hint', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:9468'), { host: '127.0.0.1', port: 9468 });
  assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['9468', '127.0.0.1', 'host:99999', ':80', 'a b:1']) {
    assert.throws(() => parseHostPort(bad), (e: Error & { code?: string; hint?: string }) => e.code === 'INVALID_ARGUMENT' && !!e.hint, bad);
  }
});

test('serves the registry at GET /metrics only; oversized headers get 400', async () => {
  const m = new Metrics();
  m.limitRejections.inc({ limit: 'unit' });
  const server = await startMetricsServer('127.0.0.1:0', silentLogger, m);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const ok = await fetch(`${base}/metrics`);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^hitless_limit_rejections_total\{limit="unit"\} 1$/m);
    assert.equal((await fetch(`${base}/metrics`, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(`${base}/other`)).status, 404);

    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end(`GET /metrics HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(METRICS_HTTP_LIMITS.maxHeaderBytes)}\r\n\r\n`);
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    await once(socket, 'close');
    assert.match(reply, /^HTTP\/1\.1 (400|431) /);
  } finally {
    await server.close();
  }
});

test('connections beyond the cap are dropped and counted as limit metrics_http_connections', async () => {
  const server = await startMetricsServer('127.0.0.1:0', silentLogger, new Metrics());
  const open = [];
  try {
    for (let i = 0; i < METRICS_HTTP_LIMITS.maxConnections; i++) {
      const s = connect(server.port, '127.0.0.1');
      await once(s, 'connect');
      open.push(s);
    }
    const before = await counterValue(metrics.limitRejections, { limit: 'metrics_http_connections' });
    const extra = connect(server.port, '127.0.0.1');
    extra.on('error', () => {});
    await once(extra, 'close');
    assert.equal(await counterValue(metrics.limitRejections, { limit: 'metrics_http_connections' }), before + 1);
  } finally {
    for (const s of open) s.destroy();
    await server.close();
  }
});
