// Resource bounds of a hitless gRPC server port: the one place their defaults live, the flags that tune
// them, and their translation into grpc-js options. The CA port (`ca serve`) and the agent's node port
// (`agent run`) each have a defaults object below; an operator's flags override single fields and the
// result is resolved once (resolveLimits) into the object the server and ConnectionGuard use.
//
// What each bound stops (issue 8, measured against the CA before they existed):
//  - maxMessageBytes: grpc-js's default is 4 MiB; a 3 MB join token was parsed, logged and echoed. The
//    largest legitimate requests are a few hundred bytes (see the per-port comments), so a few KiB.
//  - maxStreamsPerConnection: HTTP/2 lets a client multiplex 2^31 streams on one connection by default.
//  - maxConnections / maxConnectionsPerSource: 300 connections from one address stayed open, 47 → 345 fds.
//  - requestTimeoutMs: a call whose request body never came stayed open (130 s and counting).
//  - unauthenticatedTimeoutMs: a connection that never presents a node certificate lives only this long.
// Enforcement is in connection-guard.ts; every trigger is reported with limitExceeded (shared/metrics.ts).
import type { Option } from 'commander';
import type * as grpc from '@grpc/grpc-js';
import { HitlessError } from '../errors.js';
import { formatDuration, parseDuration } from '../duration.js';

export interface ServerLimits {
  /** Largest request message accepted (bytes); larger is RESOURCE_EXHAUSTED before it is buffered. */
  maxMessageBytes: number;
  /** Concurrent calls (HTTP/2 streams) on one connection. */
  maxStreamsPerConnection: number;
  /** Open connections on the port, authenticated or not. */
  maxConnections: number;
  /** Open connections from one IP address that have not (yet) carried a call with a node certificate. */
  maxConnectionsPerSource: number;
  /** A call must have received its whole request (message and end of stream) within this time. */
  requestTimeoutMs: number;
  /** A connection that has not carried a call with a verified node certificate this long after accept is closed. */
  unauthenticatedTimeoutMs: number;
  /** HTTP/2 keepalive ping interval; a peer that does not answer within keepaliveTimeoutMs is dropped. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
}

/**
 * The CA port. Largest legitimate requests, measured by test/unit/limits.test.ts: a join
 * (IssueNodeCertificateRequest: 83-character token + P-256 CSR) 300 B, a renewal 226 B, ReportLiveCredentials
 * with its 16 fingerprints 1.1 KiB; remote admin's
 * StartRootRotation with an openssl-made P-256 root (long subject, `openssl x509 -text` dump in front of the
 * PEM) and its key 3.1 KiB — the largest. 16 KiB leaves room above that. Every agent holds one connection (its
 * WatchTrustBundle stream) and makes one call at a time on it; admin tools a few. So maxConnections is the
 * fleet size plus headroom: each open connection costs the CA about 85 KB (figure 9 of `npm run bench`:
 * RSS grew ~83 MB for 1,000), so the default bounds that at ~1.4 GB. A join (bootstrap fetch + issue) takes
 * well under a second.
 */
export const CA_PORT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024,
  maxStreamsPerConnection: 16,
  maxConnections: 16_384,
  maxConnectionsPerSource: 64,
  requestTimeoutMs: 5_000,
  unauthenticatedTimeoutMs: 10_000,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
});

/**
 * The agent's node port: every node-service call needs a node certificate of the cluster (health checks do
 * not, so TLS requests the client certificate without requiring it). Requests are a HeartbeatPing (33 B at
 * most) or an empty WhoAmI; a peer holds one heartbeat stream and probes with one WhoAmI at a time.
 */
export const NODE_PORT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxMessageBytes: 4 * 1024,
  maxStreamsPerConnection: 8,
  maxConnections: 1024,
  maxConnectionsPerSource: 16,
  requestTimeoutMs: 5_000,
  unauthenticatedTimeoutMs: 5_000,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
});

type Tunable = Exclude<keyof ServerLimits, 'keepaliveTimeMs' | 'keepaliveTimeoutMs'>;

/** The flags that tune a port's limits, shared by `ca serve` and `agent run` so both spell them alike. */
export const LIMIT_FLAGS: readonly { key: Tunable; flag: string; kind: 'count' | 'bytes' | 'duration'; help: string }[] = [
  { key: 'maxMessageBytes', flag: '--max-message-size', kind: 'bytes', help: 'largest request message accepted, e.g. 16KiB' },
  { key: 'maxStreamsPerConnection', flag: '--max-streams-per-connection', kind: 'count', help: 'concurrent calls on one connection' },
  { key: 'maxConnections', flag: '--max-connections', kind: 'count', help: 'open connections in total' },
  { key: 'maxConnectionsPerSource', flag: '--max-connections-per-source', kind: 'count', help: 'connections from one IP address without a node certificate' },
  { key: 'requestTimeoutMs', flag: '--request-timeout', kind: 'duration', help: 'a call whose request has not fully arrived by then is ended' },
  { key: 'unauthenticatedTimeoutMs', flag: '--unauthenticated-timeout', kind: 'duration', help: 'a connection without a call carrying a node certificate is closed after this' },
];

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: 1024 * 1024, mb: 1_000_000 };

function parseBytes(text: string, flag: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new HitlessError('INVALID_ARGUMENT', `${flag} "${text}" is not a size`, { hint: 'use a whole number of bytes or KiB/MiB: 4096, 16KiB, 1MiB' });
  }
  return Number(m[1]) * unit;
}

function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new HitlessError('INVALID_ARGUMENT', `${flag} takes a whole number, got "${text}"`, { hint: 'e.g. 64' });
  }
  return Number(text);
}

const formatBytes = (n: number) => (n % 1024 === 0 ? `${n / 1024}KiB` : String(n));

/** Commander options for a port's limits, with that port's defaults in the help text. */
export function limitOptions(OptionClass: typeof Option, defaults: Readonly<ServerLimits>): Option[] {
  return LIMIT_FLAGS.map(({ key, flag, kind, help }) => {
    const placeholder = kind === 'duration' ? '<duration>' : kind === 'bytes' ? '<size>' : '<n>';
    const shown = kind === 'duration' ? formatDuration(defaults[key]) : kind === 'bytes' ? formatBytes(defaults[key]) : String(defaults[key]);
    const parse = kind === 'duration' ? parseDuration : kind === 'bytes' ? parseBytes : parseCount;
    return new OptionClass(`${flag} ${placeholder}`, `${help} (default: ${shown})`).argParser((v: string) => parse(v, flag));
  });
}

/** `--max-message-size` → `maxMessageSize`, the key commander stores a flag's value under. */
const attributeName = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The limit fields an operator set, from commander's parsed options. */
export function limitOverrides(parsed: Record<string, unknown>): Partial<ServerLimits> {
  const out: Partial<ServerLimits> = {};
  for (const { key, flag } of LIMIT_FLAGS) {
    const v = parsed[attributeName(flag)];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}

/** Defaults plus overrides, checked: every bound is a positive number (0 would mean "refuse everything"). */
export function resolveLimits(defaults: Readonly<ServerLimits>, overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...defaults, ...overrides };
  for (const { key, flag } of LIMIT_FLAGS) {
    const v = limits[key];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new HitlessError('INVALID_ARGUMENT', `${flag} must be at least 1, got ${String(v)}`, { hint: `omit it for the default (${String(defaults[key])})` });
    }
  }
  if (limits.maxConnectionsPerSource > limits.maxConnections) {
    throw new HitlessError('INVALID_ARGUMENT', `--max-connections-per-source (${limits.maxConnectionsPerSource}) exceeds --max-connections (${limits.maxConnections})`);
  }
  return limits;
}

/**
 * grpc-js server options for these limits. The HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised is one
 * above the limit on purpose: nghttp2 refuses streams beyond the advertised value with RST_STREAM and no
 * event we could count, so the limit itself is enforced (and reported) by ConnectionGuard's interceptor on
 * the first stream past it; well-behaved clients never get there. Everything beyond that one is refused by
 * HTTP/2 itself, so an attacker's flood costs nghttp2 a frame each and us nothing.
 */
export function grpcServerOptions(limits: ServerLimits): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection + 1,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    // channelz keeps per-connection and per-call trace objects for an introspection service we do not serve:
    // memory and CPU per unauthenticated connection for nothing.
    'grpc.enable_channelz': 0,
  };
}
