// RefreshingStream's move, case by case, against a real grpc-js server over real TLS on 127.0.0.1 whose
// Heartbeat handler the test scripts call by call (when it sends its headers, answers, ends, refuses). Time that
// decides something (spread, confirmation bound, backoff) is a FakeClock; everything else is waited for as
// events with a deadline, never slept for.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../shared/log.js';
import { CONFIRM_WITHIN_MS, RefreshingStream, GENERATION_OPTION, type RefreshingStreamOptions } from '../../shared/grpc/refreshing-stream.js';
import { SERVER_REQUEST_SPREAD_MS } from '../../shared/grpc/refresh-timing.js';
import { bindServer } from '../../shared/grpc/server.js';
import { protos, type HeartbeatPing, type HeartbeatPong__Output, type NodeServiceClient } from '../../proto/load.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { makeLeaf, makeRoot } from '../helpers/unit-pki.js';

type ServerCall = grpc.ServerDuplexStream<{ seq: string }, { seq: string; refresh_requested?: boolean }>;

/** One Heartbeat call as the server sees it. */
interface Served {
  call: ServerCall;
  pings: string[];
  /** The client half-closed ('end'), and/or the call was cancelled (RST_STREAM). */
  ended?: 'end';
  cancelled?: boolean;
  /** Answer pings (after sending headers) as they come. */
  echo: boolean;
  refreshRequested: boolean;
  accept(): void;
  refuse(code: grpc.status, details: string): void;
}

const changed = new EventEmitter();
changed.setMaxListeners(0);
const notify = () => changed.emit('change');

/** Resolves once `cond()` holds, checked at every event of the server or the stream; fails after `ms` of real time. */
function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      changed.off('change', check);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const check = () => {
      if (!cond()) return;
      clearTimeout(timer);
      changed.off('change', check);
      resolve();
    };
    changed.on('change', check);
  });
}

/**
 * What the next calls do on arrival: 'echo' (headers + answers at once), 'hold' (nothing until accept()), or
 * 'late-headers' (a server of an older release: answers pings, sends no headers before its first answer).
 */
async function scriptedServer(t: TestContext) {
  const now = new Date();
  const root = await makeRoot(now);
  const leaf = await makeLeaf(root, now);
  const served: Served[] = [];
  const plan: ('echo' | 'hold' | 'late-headers')[] = [];
  const server = new grpc.Server();
  server.addService(protos().node.hitless.v1.NodeService.service, {
    WhoAmI: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    Heartbeat: (call: ServerCall) => {
      const s: Served = {
        call,
        pings: [],
        echo: false,
        refreshRequested: false,
        accept() {
          s.echo = true;
          call.sendMetadata(new grpc.Metadata());
          // Pings that arrived while the call was held are answered now.
          for (const seq of s.pings) call.write({ seq, refresh_requested: s.refreshRequested });
          notify();
        },
        refuse(code, details) {
          call.emit('error', { code, details });
        },
      };
      served.push(s);
      call.on('data', (ping: { seq: string }) => {
        s.pings.push(ping.seq);
        if (s.echo && call.writable) call.write({ seq: ping.seq, refresh_requested: s.refreshRequested });
        notify();
      });
      call.on('end', () => {
        s.ended ??= 'end';
        call.end();
        notify();
      });
      call.on('cancelled', () => {
        s.cancelled = true;
        notify();
      });
      call.on('error', () => notify());
      const mode = plan.shift() ?? 'echo';
      if (mode === 'echo') s.accept();
      if (mode === 'late-headers') s.echo = true;
      notify();
    },
  } as grpc.UntypedServiceImplementation);
  const port = await bindServer(server, '127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(leaf.key.privateKeyPem), cert_chain: Buffer.from(leaf.chainPem.join('\n')) }], false));
  t.after(() => server.forceShutdown());
  const { NodeService } = protos().node.hitless.v1;
  const creds = grpc.credentials.createSsl(Buffer.from(root.certPem), null, null, { checkServerIdentity: () => undefined });
  const connect = (generation: number) => new NodeService(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'hitless-node', [GENERATION_OPTION]: generation }) as unknown as grpc.Client;
  return { served, plan, connect };
}

type Opts = Partial<RefreshingStreamOptions<HeartbeatPing, HeartbeatPong__Output>>;

async function setup(t: TestContext, opts: Opts = {}) {
  const srv = await scriptedServer(t);
  const clock = new FakeClock(new Date());
  const provider = new EventEmitter();
  const received: string[] = [];
  const log = { errors: [] as number[], refreshFailed: [] as string[], events: [] as string[] };
  const record = (event: string) => {
    log.events.push(event);
    notify();
  };
  const logger: Logger = { debug: record, info: record, warn: record, error: record, child: () => logger };
  const stream = new RefreshingStream<HeartbeatPing, HeartbeatPong__Output>({
    name: 'test',
    connect: srv.connect,
    open: (client) => (client as unknown as NodeServiceClient).Heartbeat(),
    confirmOn: 'headers',
    refreshRequested: (pong) => pong.refresh_requested,
    onMessage: (pong) => {
      received.push(pong.seq);
      notify();
    },
    provider,
    clock,
    log: logger,
    spreadMs: 0,
    retryDelayMs: () => 700,
    events: {
      up: () => notify(),
      error: (err) => {
        log.errors.push(err.code);
        notify();
      },
      refreshFailed: (err) => {
        log.refreshFailed.push(err.message);
        notify();
      },
    },
    ...opts,
  });
  t.after(() => stream.stop());
  stream.start();
  await until(() => stream.connected, 'the first stream');
  let seq = 0;
  const ping = () => stream.write({ seq: String(++seq), sent_at_ms: '0' });
  return { ...srv, clock, provider, stream, received, log, ping };
}

test('writes stay on the old leg until the replacement is confirmed, then move; none lost or duplicated', async (t) => {
  const { served, plan, stream, received, ping, provider } = await setup(t);
  assert.equal(ping(), true);
  await until(() => received.length === 1, 'pong 1');
  plan.push('hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call at the server');
  // The replacement's handshake is done and its call is open, but the server has not answered: writes stay put.
  assert.equal(ping(), true);
  assert.equal(ping(), true);
  await until(() => received.length === 3, 'pongs 2 and 3 on the old leg');
  assert.deepEqual(served[0]!.pings, ['1', '2', '3']);
  assert.deepEqual(served[1]!.pings, []);
  assert.equal(stream.current?.generation, 1);
  assert.deepEqual(stream.liveLegs().map((l) => l.state).sort(), ['active', 'candidate']);

  served[1]!.accept(); // response headers: the replacement is confirmed
  await until(() => stream.current?.generation === 2, 'the switch');
  await until(() => served[0]!.ended === 'end', 'the old leg half-closed');
  assert.equal(ping(), true);
  await until(() => received.length === 4, 'pong 4 on the new leg');
  assert.deepEqual(served[1]!.pings, ['4']);
  assert.deepEqual(received, ['1', '2', '3', '4'], 'each ping answered once, in order');
  assert.equal(stream.refreshes, 1);
  assert.equal(stream.errors, 0);
  assert.equal(stream.starts, 1);
});

test('answers still in flight on the old leg after the switch are delivered', async (t) => {
  const { served, plan, stream, received, ping, provider } = await setup(t);
  served[0]!.echo = false; // the old leg's server sits on ping 1 for now
  assert.equal(ping(), true);
  await until(() => served[0]!.pings.length === 1, 'ping 1 at the server');
  plan.push('echo');
  provider.emit('update');
  await until(() => stream.current?.generation === 2, 'the switch');
  served[0]!.call.write({ seq: '1' }); // the late answer, after the switch
  assert.equal(ping(), true);
  await until(() => received.length === 2, 'both pongs');
  assert.deepEqual([...received].sort(), ['1', '2']);
  assert.deepEqual(served[1]!.pings, ['2']);
});

test('a replacement that fails leaves the old leg carrying the stream; it is retried after the backoff', async (t) => {
  const { served, plan, stream, received, ping, provider, clock, log } = await setup(t);
  plan.push('hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  assert.equal(ping(), true);
  served[1]!.refuse(grpc.status.UNAUTHENTICATED, 'refused'); // trailers-only: no headers, not an answer
  await until(() => log.refreshFailed.length === 1, 'the refresh failure');
  assert.equal(ping(), true);
  await until(() => received.length === 2, 'pongs on the old leg');
  assert.deepEqual(served[0]!.pings, ['1', '2']);
  assert.deepEqual(served[1]!.pings, [], 'nothing was written to the replacement, so nothing is resent');
  assert.equal(stream.current?.generation, 1);
  assert.equal(stream.errors, 0);
  assert.equal(stream.refreshFailures, 1);
  // Retried after retryDelayMs (700 ms of the fake clock), not before.
  await clock.advanceAsync(699);
  assert.equal(served.length, 2);
  await clock.advanceAsync(1);
  await until(() => stream.current?.generation === 3, 'the retried replacement in use');
  assert.equal(stream.refreshes, 1);
});

test('a replacement not confirmed within the bound is abandoned; the old leg carries on', async (t) => {
  const { served, plan, stream, received, ping, provider, clock, log } = await setup(t);
  plan.push('hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  await clock.advanceAsync(CONFIRM_WITHIN_MS - 1);
  assert.equal(log.refreshFailed.length, 0);
  await clock.advanceAsync(1);
  await until(() => log.refreshFailed.length === 1, 'the abandoned replacement');
  await until(() => served[1]!.cancelled === true, 'the replacement cancelled at the server');
  assert.match(log.refreshFailed[0]!, /no response headers or message within 10000 ms/);
  assert.equal(ping(), true);
  await until(() => received.length === 1, 'a pong on the old leg');
  assert.equal(stream.current?.generation, 1);
  assert.equal(stream.errors, 0);
});

test('the old leg ends before its replacement confirms: an error of the stream in use; the replacement takes over', async (t) => {
  const { served, plan, stream, received, ping, provider, log } = await setup(t);
  plan.push('hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  // The server's bound: expiry + grace reached on the old stream.
  served[0]!.call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'the certificate that authenticated this stream expired' });
  await until(() => log.errors.length === 1, 'the error of the stream in use');
  assert.deepEqual(log.errors, [grpc.status.UNAUTHENTICATED]);
  assert.equal(stream.connected, false);
  // No stream in use: the write goes to the replacement, the only leg left (false: not yet confirmed).
  assert.equal(ping(), false);
  await until(() => served[1]!.pings.length === 1, 'the ping at the replacement');
  served[1]!.accept();
  await until(() => received.length === 1, 'its pong');
  assert.equal(stream.current?.generation, 2);
  assert.equal(stream.errors, 1);
  assert.equal(ping(), true);
  await until(() => received.length === 2, 'the next pong');
});

test('the old leg ended by the server because the replacement superseded it is no error', async (t) => {
  const { served, plan, stream, provider, log } = await setup(t, { endedByReplacement: (err) => err.code === grpc.status.RESOURCE_EXHAUSTED });
  plan.push('hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  served[0]!.call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'replaced by a newer stream' });
  await until(() => log.events.includes('stream.superseded'), 'the superseded old leg');
  assert.equal(stream.connected, false);
  served[1]!.accept();
  await until(() => stream.current?.generation === 2, 'the replacement in use');
  assert.equal(stream.errors, 0);
  assert.equal(stream.refreshes, 1);
  assert.equal(stream.starts, 1);
});

test('triggers during a move are merged; a credential change during the move moves again once it is confirmed', async (t) => {
  const { served, plan, stream, provider } = await setup(t);
  plan.push('hold', 'hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  stream.refresh('peer-expiry');
  provider.emit('update'); // our certificate changed again: generation 2 may present the previous one
  provider.emit('update');
  assert.equal(served.length, 2);
  served[1]!.accept();
  await until(() => served.length === 3, 'one more move, for the change after generation 2 was opened');
  assert.equal(stream.current?.generation, 2);
  served[2]!.accept();
  await until(() => stream.current?.generation === 3, 'the second move');
  assert.equal(stream.refreshes, 2);
  assert.equal(served.length, 3, 'no further move: generation 3 was opened after the last change');
});

test("a server's first request on the old leg during a move moves again once the replacement is confirmed", async (t) => {
  const { served, plan, stream, received, ping, provider, clock } = await setup(t);
  plan.push('hold', 'hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  // The server's certificate changes now: it asks the old leg (the replacement may have its old certificate).
  served[0]!.refreshRequested = true;
  ping();
  ping();
  await until(() => received.length === 2, 'two pongs asking for a refresh');
  assert.equal(served.length, 2, 'merged into the move under way');
  served[1]!.accept();
  await until(() => stream.current?.generation === 2, 'the switch');
  // Generation 2 was opened with our current certificate: it moves once it is MIN_SERVER_REQUEST_MS old.
  await clock.advanceAsync(999);
  assert.equal(served.length, 2);
  await clock.advanceAsync(1);
  await until(() => served.length === 3, 'one more move after the switch');
  served[2]!.accept();
  await until(() => stream.current?.generation === 3, 'the second move');
  assert.equal(stream.refreshes, 2);
  assert.equal(served.length, 3);
});

test('a request the old leg repeats after the move started it does not move again', async (t) => {
  const { served, plan, stream, received, ping, clock } = await setup(t);
  await clock.advanceAsync(5_000);
  plan.push('hold');
  served[0]!.refreshRequested = true;
  ping();
  await until(() => served.length === 2, 'the replacement the server asked for');
  ping();
  ping();
  await until(() => received.length === 3, 'more pongs repeating the request');
  served[1]!.accept();
  await until(() => stream.current?.generation === 2, 'the switch');
  ping();
  await until(() => received.length === 4, 'a pong on the new leg');
  assert.equal(served.length, 2);
  assert.equal(stream.refreshes, 1);
});

test('a server asking every new leg at once (our certificate within its grace) does not make moves loop', async (t) => {
  const { served, plan, stream, received, ping, provider, clock } = await setup(t);
  await clock.advanceAsync(5_000);
  served[0]!.refreshRequested = true;
  plan.push('echo');
  ping();
  await until(() => stream.current?.generation === 2, 'the move the server asked for');
  served[1]!.refreshRequested = true; // asked at once: we have not renewed yet
  ping();
  ping();
  await until(() => received.length === 3, 'pongs on the new leg, asking again');
  assert.equal(served.length, 2, 'no move with the same certificate before the leg is MIN_SERVER_REQUEST_MS old');
  await clock.advanceAsync(999);
  assert.equal(served.length, 2);
  // Our renewal moves it at once (spread 0 here), before the 1 s is up.
  plan.push('echo');
  provider.emit('update');
  await until(() => stream.current?.generation === 3, 'the move after our renewal');
  assert.equal(stream.refreshes, 2);
});

test('a server that sends headers only with its first answer: the probe makes it answer; app writes stay put', async (t) => {
  const { served, plan, stream, received, ping, provider } = await setup(t, { probe: () => ({ seq: '0', sent_at_ms: '0' }) });
  plan.push('late-headers');
  provider.emit('update');
  await until(() => stream.current?.generation === 2, 'the switch on the probe answer');
  assert.deepEqual(served[1]!.pings, ['0'], 'only the probe went to the replacement before it was confirmed');
  assert.equal(ping(), true);
  await until(() => received.includes('1'), 'pong 1');
  assert.deepEqual(served[1]!.pings, ['0', '1']);
  assert.deepEqual(served[0]!.pings, []);
});

test('without a probe, a replacement such a server never answers is abandoned after the bound', async (t) => {
  const { served, plan, stream, provider, clock, log } = await setup(t);
  plan.push('late-headers');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  await clock.advanceAsync(CONFIRM_WITHIN_MS);
  await until(() => log.refreshFailed.length === 1, 'the abandoned replacement');
  assert.equal(stream.current?.generation, 1);
  assert.equal(stream.errors, 0);
});

test('the application ends the stream mid-move: the replacement is cancelled, the stream in use half-closed', async (t) => {
  const { served, plan, stream, received, ping, provider } = await setup(t);
  plan.push('hold');
  provider.emit('update');
  await until(() => served.length === 2, 'the replacement call');
  assert.equal(ping(), true);
  await until(() => received.length === 1, 'pong 1');
  const ended = stream.end();
  assert.equal(ping(), false, 'no write after end()');
  await until(() => served[1]!.cancelled === true, 'the replacement cancelled');
  await until(() => served[0]!.ended === 'end', 'the stream in use half-closed');
  await ended;
  provider.emit('update');
  assert.equal(served.length, 2, 'no move after end()');
  assert.equal(stream.errors, 0);
  assert.deepEqual(served[0]!.pings, ['1']);
});

test("moves after process-wide events are spread over the window; a server's request over a shorter one, replacing a later spread move", async (t) => {
  const { served, plan, stream, provider, clock, ping, received } = await setup(t, { spreadMs: 1_000, random: () => 0.5 });
  await clock.advanceAsync(5_000); // the stream in use is older than MIN_SERVER_REQUEST_MS
  const sleepsBefore = clock.sleeps.length;
  provider.emit('update');
  assert.deepEqual(clock.sleeps.slice(sleepsBefore), [500], 'half-way into the 1 s window');
  assert.equal(served.length, 1, 'not opened yet');
  // The server asks for a refresh on its next answer: the move starts half-way into SERVER_REQUEST_SPREAD_MS,
  // before the spread instant, and replaces the move scheduled there.
  plan.push('hold');
  served[0]!.refreshRequested = true;
  const answered = received.length;
  ping();
  await until(() => received.length > answered, 'the answer carrying the request');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(clock.sleeps[sleepsBefore + 1], SERVER_REQUEST_SPREAD_MS / 2, 'half-way into the server-request window');
  assert.equal(served.length, 1, 'not opened at once');
  await clock.advanceAsync(SERVER_REQUEST_SPREAD_MS / 2);
  await until(() => served.length === 2, 'the replacement after the server request');
  served[1]!.accept();
  await until(() => stream.current?.generation === 2, 'the switch');
  await clock.advanceAsync(500);
  assert.equal(served.length, 2, 'the spread move was merged into the one the server asked for');
});

test('the spread window never exceeds a tenth of the time left before the nearest expiry', async (t) => {
  const clock0 = Date.now();
  const { provider, clock } = await setup(t, { spreadMs: 1_000, random: () => 0.5, ownNotAfter: () => new Date(clock0 + 2_000) });
  const sleepsBefore = clock.sleeps.length;
  provider.emit('update');
  const [spread] = clock.sleeps.slice(sleepsBefore);
  assert.ok(spread !== undefined && spread > 0 && spread <= 100, `spread ${spread} ms: half of at most 10 % of 2 s`);
});
