import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_KEEPALIVE_DEFAULT, clientKeepaliveOptions, setClientKeepalive } from '../../shared/grpc/keepalive.js';

after(() => setClientKeepalive({}));

test('client keepalive: defaults 10 s / 5 s, a flag left unset keeps its default, pings only while a call is open', () => {
  assert.deepEqual(setClientKeepalive({ timeMs: undefined, timeoutMs: 2_000 }), { timeMs: CLIENT_KEEPALIVE_DEFAULT.timeMs, timeoutMs: 2_000 });
  assert.deepEqual(clientKeepaliveOptions(), { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 2_000, 'grpc.keepalive_permit_without_calls': 0 });
  assert.deepEqual(setClientKeepalive({}), { timeMs: 10_000, timeoutMs: 5_000 });
});

test('client keepalive: values under 100 ms are refused with the flag named, and change nothing', () => {
  setClientKeepalive({ timeMs: 3_000 });
  assert.throws(() => setClientKeepalive({ timeoutMs: 50 }), (err: Error & { code?: string }) => err.code === 'INVALID_ARGUMENT' && /--keepalive-timeout must be at least 100ms/.test(err.message));
  assert.throws(() => setClientKeepalive({ timeMs: 0 }), /--keepalive-time must be at least 100ms/);
  assert.equal(clientKeepaliveOptions()['grpc.keepalive_time_ms'], 3_000);
});
