// Runs the cfssl comparison alone: `npx tsx test/bench/cfssl-main.ts` (installs golang-cfssl if needed).
import { benchCfssl } from './cfssl.js';

const result = await benchCfssl({ concurrency: 16, durationMs: 3000, runs: 3, log: console.error });
console.log(JSON.stringify(result, null, 2));
