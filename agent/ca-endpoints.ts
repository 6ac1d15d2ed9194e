// Which CA address the agent talks to, and how long it waits before trying another: a pure policy, no I/O and
// no timers (the driver is agent/ca-failover.ts). Table-tested in test/unit/ca-endpoints.test.ts.
//
//   --ca A,B,C            current = A (the first listed: the operator's order is a preference;
//                          --ca-start random picks one at start instead, to spread a fleet over replicas)
//   call on A succeeds     stays on A (sticky), failures = 0
//   A fails to connect     current = B, failures = 1, failovers + 1; the next try waits caHopDelayMs (0-1 s)
//   A answers with an
//   application error      stays on A, failures = 0 (A is reachable; B would say the same)
//   a late failure of A
//   while current = B      ignored: another caller already moved on (no double hop that would skip B)
//
// Only transport-level failures move the agent: UNAVAILABLE (refused, reset, TLS failure, a replica that is
// not ready) and DEADLINE_EXCEEDED. PERMISSION_DENIED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED (rate limits)...
// are the CA's answer, which every replica of the cluster would give: touring the replicas with them would only
// multiply the load.
import { status } from '@grpc/grpc-js';
import { HitlessError } from '../shared/errors.js';
import { backoffDelayMs } from './renewal-schedule.js';

/** More addresses than this is a mistake (replicas are few); the bound keeps status and metric labels small. */
export const MAX_CA_ADDRESSES = 16;

/**
 * Backoff after transport failures: full jitter, uniform in [0, min(cap, base·2^failures)] and at least the
 * floor (a failing CA is never hammered in a tight loop). The first retry after a replica dies waits 0-1 s:
 * quick for a renewal (which has minutes of slack), yet the agents that lost the same replica reach the next one
 * spread over a second, not in the same instant (a 10,000-node fleet: ~10,000 TLS handshakes over 1 s rather
 * than at once; test/sim/outage-spread.ts). Hops inside one operation stay at that first window (caHopDelayMs);
 * retry loops without a schedule of their own (the CA watch) double the ceiling with each failure up to the
 * cap, which bounds how late an agent notices that a CA is back.
 */
export const CA_BACKOFF = { baseMs: 500, capMs: 15_000, floorMs: 50 } as const;

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s,]+):(\d{1,5})$/;

/**
 * `--ca` values (each repeatable, each comma-separated) → the ordered list of distinct addresses.
 * Throws INVALID_ARGUMENT with a hint for an empty list, a malformed entry or too many addresses.
 */
export function parseCaAddresses(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const raw of value.split(',')) {
      const address = raw.trim();
      if (!address) continue;
      const m = HOST_PORT.exec(address);
      const port = m ? Number(m[1]) : NaN;
      if (!m || port < 1 || port > 65535) {
        throw new HitlessError('INVALID_ARGUMENT', `--ca takes HOST:PORT, got "${address.slice(0, 64)}"`, {
          hint: 'for example --ca ca1.example:7468,ca2.example:7468 (repeat --ca or separate addresses with commas)',
        });
      }
      if (!out.includes(address)) out.push(address);
    }
  }
  if (out.length === 0) throw new HitlessError('INVALID_ARGUMENT', '--ca names no address', { hint: 'pass --ca HOST:PORT of ca serve (several: comma-separated or repeated)' });
  if (out.length > MAX_CA_ADDRESSES) {
    throw new HitlessError('INVALID_ARGUMENT', `--ca names ${out.length} addresses; at most ${MAX_CA_ADDRESSES}`, { hint: 'list the CA replicas, not every node' });
  }
  return out;
}

/** What a failed call says about the address it went to. */
export type CaFailureKind = 'transport' | 'answer';

/**
 * `transport`: the address did not answer in time or could not be reached: gRPC UNAVAILABLE or DEADLINE_EXCEEDED,
 * on the error or along its `cause` chain (a HitlessError mapped back from a status, or our own "no CA address
 * answered", keeps the ServiceError as its cause); another replica may do better.
 * `answer`: anything else: the CA decided (no other replica would decide differently), or the failure is our
 * own (a full disk is UNAVAILABLE too, but a local HitlessError with no gRPC status behind it).
 */
export function classifyCaFailure(err: unknown): CaFailureKind {
  let e = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return 'transport';
    e = (e as { cause?: unknown }).cause;
  }
  return 'answer';
}

export interface CaEndpointState {
  readonly addresses: readonly string[];
  /** Index of the address in use. */
  readonly index: number;
  /** Transport failures in a row, over every caller, since the last answer from any CA. */
  readonly failures: number;
  /** Moves to another address so far. */
  readonly failovers: number;
}

export type CaOutcome = { kind: 'ok' } | { kind: 'answer' } | { kind: 'transport' };

export interface CaTransition {
  state: CaEndpointState;
  /** Set when this outcome moved the agent to another address. */
  failover?: { from: string; to: string };
}

/** Where an agent starts: the first address listed (a preference order), or one picked at random at start. */
export type CaStart = 'first' | 'random';

/** `start`: index of the address to begin with (a random pick spreads a fleet with one --ca list over replicas). */
export function initialCaState(addresses: readonly string[], start = 0): CaEndpointState {
  if (addresses.length === 0) throw new RangeError('initialCaState: no address');
  if (!Number.isInteger(start) || start < 0 || start >= addresses.length) throw new RangeError(`initialCaState: start ${start} out of range`);
  return { addresses, index: start, failures: 0, failovers: 0 };
}

/** The start index for `how`, drawing from `random` for a random start. */
export function caStartIndex(how: CaStart, count: number, random: () => number): number {
  return how === 'random' ? Math.min(count - 1, Math.floor(random() * count)) : 0;
}

export const currentAddress = (s: CaEndpointState): string => s.addresses[s.index]!;

/** The outcome of one call (or stream attempt) to `address`. */
export function onCaOutcome(s: CaEndpointState, address: string, outcome: CaOutcome): CaTransition {
  const current = address === currentAddress(s);
  switch (outcome.kind) {
    case 'ok':
    case 'answer':
      // The CA answered: the path works. A success on an address we already left does not pull us back
      // (sticky), but it still proves a CA is reachable, so retries need not wait long.
      return { state: s.failures === 0 ? s : { ...s, failures: 0 } };
    case 'transport': {
      if (!current) return { state: s };
      const failures = s.failures + 1;
      if (s.addresses.length === 1) return { state: { ...s, failures } };
      const index = (s.index + 1) % s.addresses.length;
      return {
        state: { ...s, index, failures, failovers: s.failovers + 1 },
        failover: { from: address, to: s.addresses[index]! },
      };
    }
  }
}

/**
 * Wait before trying the next address inside one operation (a tour): full jitter over [0, 2·base] = 0-1 s, however
 * many failures came before. A tour never waits longer: the caller's own schedule spaces its tours (the Renewer's
 * backoff, which is bounded by the certificate's remaining life), and a wait inside a renewal that grew with
 * the length of an outage could outlast a short certificate.
 */
export function caHopDelayMs(random: () => number = Math.random, o: { baseMs: number; capMs: number; floorMs: number } = CA_BACKOFF): number {
  return backoffDelayMs(1, random, o);
}

/**
 * Wait before the next attempt of a retry loop with no schedule of its own (the CA watch) after `failures`
 * failures in a row: full jitter, uniform in [0, min(cap, base·2^failures)], at least the floor; 0 with none.
 */
export function caRetryDelayMs(failures: number, random: () => number = Math.random, o: { baseMs: number; capMs: number; floorMs: number } = CA_BACKOFF): number {
  if (failures <= 0) return 0;
  return backoffDelayMs(failures, random, o);
}
