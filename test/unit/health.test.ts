// HealthReporter on a real in-process gRPC server: status changes reach Watch streams, stopping() ends them,
// and Watch streams beyond the bound are refused with RESOURCE_EXHAUSTED and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Health } from '../helpers/health-client.js';
import { HealthReporter, MAX_HEALTH_WATCHES } from '../../shared/grpc/health.js';
import { bindServer, shutdownServer } from '../../shared/grpc/server.js';
import { silentLogger } from '../../shared/log.js';
import { counterValue, metrics } from '../../shared/metrics.js';

test('Watch follows set(); stopping() sends NOT_SERVING and ends every stream; one stream past the bound is refused', async () => {
  const server = new grpc.Server();
  const health = new HealthReporter(['x.v1.S'], silentLogger);
  health.addTo(server);
  const port = await bindServer(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
  const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const streams = Array.from({ length: MAX_HEALTH_WATCHES }, () => {
      const seen: string[] = [];
      const call = client.watch({ service: 'x.v1.S' });
      call.on('data', (m: { status: string }) => seen.push(m.status));
      call.on('error', () => {});
      const ended = new Promise<grpc.StatusObject>((r) => call.on('status', r));
      const first = new Promise<void>((r) => call.once('data', () => r()));
      return { seen, ended, first };
    });
    await Promise.all(streams.map((s) => s.first));
    const before = await counterValue(metrics.limitRejections, { limit: 'health_watch_streams' });
    const extra = client.watch({ service: 'x.v1.S' });
    extra.on('data', () => {});
    const refused = await new Promise<grpc.ServiceError>((r) => extra.on('error', r));
    assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(await counterValue(metrics.limitRejections, { limit: 'health_watch_streams' }), before + 1);

    health.set('SERVING');
    health.stopping();
    const ends = await Promise.all(streams.map((s) => s.ended));
    assert.ok(ends.every((e) => e.code === grpc.status.OK));
    assert.ok(streams.every((s) => s.seen.join() === 'NOT_SERVING,SERVING,NOT_SERVING'), streams[0]!.seen.join());
  } finally {
    client.close();
    await shutdownServer(server, 1_000);
  }
});
