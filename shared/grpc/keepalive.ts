// Client-side HTTP/2 keepalive for the agent's long-lived calls (heartbeat streams to peers, the CA watch).
// Without it a peer behind a blackholed path (a dead host, a dropped route, a firewall that drops silently) is
// never noticed: nothing is written on an idle stream, and TCP alone gives up only after many minutes. With it,
// grpc-js pings every `timeMs` while a call is open and drops the connection when a ping goes unanswered for
// `timeoutMs`: the call ends with UNAVAILABLE and the stream is re-established (with backoff) when the path
// returns. A blackholed peer is therefore detected within timeMs + timeoutMs (default 10 s + 5 s = 15 s).
// Pings are sent only while a call is open (no idle pings), so an idle channel costs nothing.
// Servers (shared/grpc/limits.ts) ping their clients every 60 s with a 20 s timeout; our grpc-js servers do not
// police the rate of client pings (no too_many_pings GOAWAY), so 10 s is safe against our own peers and CA.
// Resolved once per process (agent/cli.ts flags --keepalive-time / --keepalive-timeout), like the TLS policy.
import { HitlessError } from '../errors.js';

export interface ClientKeepalive {
  timeMs: number;
  timeoutMs: number;
}

export const CLIENT_KEEPALIVE_DEFAULT: ClientKeepalive = { timeMs: 10_000, timeoutMs: 5_000 };
/** Below this, pings cost more than they tell (and a loaded host may miss a deadline): refused. */
const MIN_MS = 100;

let current: ClientKeepalive = { ...CLIENT_KEEPALIVE_DEFAULT };

export function setClientKeepalive(k: Partial<ClientKeepalive>): ClientKeepalive {
  const next = { timeMs: k.timeMs ?? CLIENT_KEEPALIVE_DEFAULT.timeMs, timeoutMs: k.timeoutMs ?? CLIENT_KEEPALIVE_DEFAULT.timeoutMs };
  for (const [name, v] of [['--keepalive-time', next.timeMs], ['--keepalive-timeout', next.timeoutMs]] as const) {
    if (!Number.isFinite(v) || v < MIN_MS) {
      throw new HitlessError('INVALID_ARGUMENT', `${name} must be at least ${MIN_MS}ms`, { hint: `the defaults are ${CLIENT_KEEPALIVE_DEFAULT.timeMs / 1000}s and ${CLIENT_KEEPALIVE_DEFAULT.timeoutMs / 1000}s` });
    }
  }
  current = next;
  return current;
}

/** Channel options for every client channel of the agent. */
export function clientKeepaliveOptions(): Record<string, number> {
  return { 'grpc.keepalive_time_ms': current.timeMs, 'grpc.keepalive_timeout_ms': current.timeoutMs, 'grpc.keepalive_permit_without_calls': 0 };
}
