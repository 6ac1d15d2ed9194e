// Diagnostic run of the soak (figure 5): what every TLS handshake of the run did, per soak phase.
//
//   npx tsx test/bench/soak-diagnose.ts                          # the soak's defaults, 250 ms pings
//   SOAK_OPTS='{"leafRotations":2}' npx tsx test/bench/soak-diagnose.ts
//   BLOCK=300/400 npx tsx test/bench/soak-diagnose.ts            # starve it: loop blocked 300 ms of every 400
//   VERBOSE=1 ...                                                 # every failed handshake as it happens
//
// Records per phase: handshakes started by the agents' channels, how long each took (connect → secureConnect),
// the client's error or authorizationError, the servers' tlsClientError; and, at each phase line, the live TLS
// sockets on both ends by the phase they were made in (a count that grows step by step is a connection leak).
// It wraps node:tls's connect and tls.Server's emit, which grpc-js calls through the module object: diagnostic
// only, never in the product. BLOCK blocks the event loop with Atomics.wait, so the starvation costs no CPU the
// other processes on the machine need. Written to find why figure 5 failed in the root rotation's [leaf(B), X]
// step (test/bench/HISTORY.md: the soak starved itself; no TLS error preceded the leaves' expiry).
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { benchSoak, type SoakOptions } from './soak.js';

interface PhaseStats { started: number; ok: number; errors: Map<string, number>; ms: number[]; serverErrors: Map<string, number> }

const verbose = process.env.VERBOSE === '1';
const t0 = performance.now();
const stamp = () => `+${((performance.now() - t0) / 1000).toFixed(1)}s`;
let phase = 'start';
const stats = new Map<string, PhaseStats>();
const current = () => {
  let s = stats.get(phase);
  if (!s) stats.set(phase, (s = { started: 0, ok: 0, errors: new Map(), ms: [], serverErrors: new Map() }));
  return s;
};
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const live = new Set<{ phase: string }>();
let serverLive = 0;

const originalConnect = tls.connect;
(tls as { connect: unknown }).connect = function (this: unknown, ...args: unknown[]) {
  const sock = (originalConnect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  const s = current();
  const rec = { phase };
  const start = performance.now();
  s.started++;
  live.add(rec);
  let settled = false;
  const fail = (k: string) => {
    settled = true;
    bump(s.errors, k);
    if (verbose) process.stderr.write(`[diagnose ${stamp()}] ${rec.phase}: client ${k} after ${(performance.now() - start).toFixed(0)} ms\n`);
  };
  sock.once('secureConnect', () => {
    settled = true;
    s.ms.push(performance.now() - start);
    if (sock.authorized) s.ok++;
    else fail(`authorizationError ${String((sock.authorizationError as { code?: string } | null)?.code ?? sock.authorizationError)}`);
  });
  sock.once('error', (e: NodeJS.ErrnoException) => settled || fail(`error ${e.code ?? ''} ${e.message.slice(0, 100)}`));
  sock.once('close', () => {
    live.delete(rec);
    if (!settled) fail('closed before the handshake completed');
  });
  return sock;
};
const originalEmit = tls.Server.prototype.emit;
tls.Server.prototype.emit = function (this: tls.Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'secureConnection') {
    serverLive++;
    (args[0] as tls.TLSSocket).once('close', () => serverLive--);
  } else if (event === 'tlsClientError') {
    const e = args[0] as NodeJS.ErrnoException;
    const k = `${e.code ?? ''} ${e.message.slice(0, 120)}`;
    bump(current().serverErrors, k);
    if (verbose) process.stderr.write(`[diagnose ${stamp()}] ${phase}: server tlsClientError ${k}\n`);
  }
  return (originalEmit as (event: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof tls.Server.prototype.emit;

if (process.env.BLOCK) {
  const [blockMs, everyMs] = process.env.BLOCK.split('/').map(Number);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  setInterval(() => Atomics.wait(cell, 0, 0, blockMs), everyMs).unref();
}

const byPhaseMade = () => {
  const m = new Map<string, number>();
  for (const r of live) bump(m, r.phase);
  return [...m].map(([p, n]) => `${p} ${n}`).join(', ');
};
const opts = JSON.parse(process.env.SOAK_OPTS ?? '{}') as SoakOptions;
// In this process: the wraps above see only this process's sockets, so the agents share its event loop (the
// soak's shape before it ran an agent per process: see soak.ts).
const result = await benchSoak({
  heartbeatMs: 250,
  agentProcesses: false,
  ...opts,
  onPhase: (p) => (phase = p),
  log: (line) => {
    if (/\] phase \S+: /.test(line)) process.stderr.write(`${line}; live TLS: client ${live.size} (made in: ${byPhaseMade()}), server ${serverLive}\n`);
    else if (verbose || !/UNAUTHENTICATED|stream_bound_reached|refresh_failed|stream\.retry/.test(line)) process.stderr.write(line + '\n');
  },
});
const q = (a: number[], p: number) => (a.length ? [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))]!.toFixed(0) : '-');
for (const [p, s] of stats) {
  const errs = (m: Map<string, number>) => (m.size ? [...m].map(([k, n]) => `${n}× ${k}`).join('; ') : 'none');
  process.stderr.write(`[diagnose] ${p.padEnd(20)} handshakes ${s.started} (ok ${s.ok}), ms p50 ${q(s.ms, 0.5)} p99 ${q(s.ms, 0.99)} max ${q(s.ms, 1)}; client errors: ${errs(s.errors)}; server errors: ${errs(s.serverErrors)}\n`);
}
console.log(JSON.stringify(result, null, 2));
