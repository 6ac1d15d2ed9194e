// RefreshingStream's confirmWithinMs against a real gRPC client and a server that accepts TCP connections
// but never answers (what a blackholed or wedged CA address looks like): the attempt fails with
// DEADLINE_EXCEEDED when the injected clock says so, is reported as a connect failure, and the stream retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../shared/log.js';
import { RefreshingStream } from '../../shared/grpc/refreshing-stream.js';
import { CaClient, bootstrapConnection } from '../../agent/ca-client.js';
import type { NodeCaServiceClient } from '../../proto/load.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

test('an attempt with no first message within the bound fails with DEADLINE_EXCEEDED and is retried', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s.on('error', () => {})));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });

  const clock = new FakeClock();
  const errors: { code: number; established: boolean; generation: number }[] = [];
  const connected: number[] = [];
  const stream = new RefreshingStream<never, unknown>({
    name: 'test',
    connect: (generation) => {
      connected.push(generation);
      return new CaClient(address, bootstrapConnection()).raw as unknown as grpc.Client;
    },
    open: (client) => (client as unknown as NodeCaServiceClient).WatchTrustBundle({ known_version: '0' }),
    onMessage: () => assert.fail('the silent server sent a message'),
    clock,
    log: silentLogger,
    confirmWithinMs: 10_000,
    retryDelayMs: () => 1_000,
    events: { error: (err, established, leg) => void errors.push({ code: err.code, established, generation: leg.generation }) },
  });
  stream.start();
  t.after(() => stream.stop());
  // The first attempt arms its 10 s bound; nothing has failed yet (the server holds the connection open).
  assert.equal(await clock.nextSleep(), 10_000);
  assert.deepEqual(errors, []);
  clock.advance(10_000);
  // The bound fires: a connect failure (not established) with DEADLINE_EXCEEDED, then the retry wait.
  assert.equal(await clock.nextSleep(), 1_000);
  assert.deepEqual(errors, [{ code: 4, established: false, generation: 1 }]);
  assert.equal(stream.connectFailures, 1);
  assert.equal(stream.errors, 0);
  clock.advance(1_000);
  assert.equal(await clock.nextSleep(), 10_000, 'the second attempt is bounded too');
  assert.deepEqual(connected, [1, 2]);
  assert.equal(errors.length, 1, 'the cancelled first call reported nothing more');
});
