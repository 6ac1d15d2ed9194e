// Runs the hitless soak with its defaults and prints the result as JSON on stdout (progress goes to stderr).
//
//   npx tsx test/bench/soak-main.ts
//
// Exit code 1 when a target is missed: any stream error or end, failed fresh handshake or failed reconnect,
// or a heartbeat stall over 100 ms. A stall is the gap between consecutive pongs *beyond the ping cadence*
// (maxGapMs - heartbeatMs): with pings every 100 ms the gap is ~100 ms when nothing at all goes wrong, so
// "gap <= 100 ms" read literally could only be met by a cadence-perfect run and would flag timer jitter.
import { benchSoak } from './soak.js';

const STALL_TARGET_MS = 100;
const result = await benchSoak({});
console.log(JSON.stringify(result, null, 2));
const misses = [
  result.streamErrors + result.streamEnds > 0 && `${result.streamErrors} stream errors, ${result.streamEnds} stream ends`,
  result.freshHandshakeFailures > 0 && `${result.freshHandshakeFailures} failed fresh handshakes`,
  result.reconnectFailures > 0 && `${result.reconnectFailures} failed reconnects`,
  result.maxGapMs - result.heartbeatMs > STALL_TARGET_MS && `heartbeat stall ${(result.maxGapMs - result.heartbeatMs).toFixed(1)} ms > ${STALL_TARGET_MS} ms`,
].filter(Boolean);
for (const m of misses) console.error(`soak target missed: ${m}`);
process.exitCode = misses.length ? 1 : 0;
