// Runs the hitless soak (figure 5) once and prints the result as JSON on stdout (progress, with a line per
// phase, goes to stderr).
//
//   npx tsx test/bench/soak-main.ts                      # the soak's defaults: 100 ms pings, a process per agent
//   npx tsx test/bench/soak-main.ts --ping-ms 250        # figure 5's setting
//   npx tsx test/bench/soak-main.ts --in-process         # every agent in this process (the shape before December 2026)
//   npx tsx test/bench/soak-main.ts --leaf-rotations 2   # shorter
//
// Exit code 1 when a target is missed: any stream error or end, failed fresh handshake or failed reconnect, a
// stream leg on an expired or untrusted certificate, or a heartbeat stall over 100 ms. A stall is the gap
// between consecutive pongs *beyond the ping cadence* (maxGapMs - heartbeatMs): with pings every 100 ms the gap
// is ~100 ms when nothing at all goes wrong, so "gap <= 100 ms" read literally could only be met by a
// cadence-perfect run and would flag timer jitter.
import { parseArgs } from 'node:util';
import { benchSoak } from './soak.js';

const { values } = parseArgs({
  options: {
    'ping-ms': { type: 'string' },
    'leaf-rotations': { type: 'string' },
    streams: { type: 'string' },
    agents: { type: 'string' },
    'in-process': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npx tsx test/bench/soak-main.ts [--ping-ms 100] [--leaf-rotations 10] [--streams 250] [--agents 4] [--in-process]');
  process.exit(0);
}
const num = (name: string, text: string | undefined) => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} takes a whole number, got "${text}"\nhint: see --help`);
    process.exit(2);
  }
  return n;
};

const STALL_TARGET_MS = 100;
const result = await benchSoak({
  heartbeatMs: num('ping-ms', values['ping-ms']),
  leafRotations: num('leaf-rotations', values['leaf-rotations']),
  streams: num('streams', values.streams),
  agents: num('agents', values.agents),
  agentProcesses: !values['in-process'],
});
console.log(JSON.stringify(result, null, 2));
const misses = [
  result.streamErrors + result.streamEnds > 0 && `${result.streamErrors} stream errors, ${result.streamEnds} stream ends`,
  result.freshHandshakeFailures > 0 && `${result.freshHandshakeFailures} failed fresh handshakes`,
  result.reconnectFailures > 0 && `${result.reconnectFailures} failed reconnects`,
  result.untrustedStreamsMax > 0 && `${result.untrustedStreamsMax} stream legs on an expired or untrusted certificate`,
  result.maxGapMs - result.heartbeatMs > STALL_TARGET_MS && `heartbeat stall ${(result.maxGapMs - result.heartbeatMs).toFixed(1)} ms > ${STALL_TARGET_MS} ms`,
].filter(Boolean);
for (const m of misses) console.error(`soak target missed: ${m}`);
process.exitCode = misses.length ? 1 : 0;
