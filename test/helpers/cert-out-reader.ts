// Worker thread: reads a --cert-out set in a tight loop until told to stop, checking every set it reads.
// workerData: { dir, stop: Int32Array over a SharedArrayBuffer (non-zero = stop) }. Posts one ReaderResult.
import { parentPort, workerData } from 'node:worker_threads';
import { readCertOutSet, certOutSetProblem } from './cert-out-check.js';

export interface ReaderResult {
  reads: number;
  /** Reads that found the resolved generation gone (a swap and a cleanup in between): retried, never wrong. */
  vanished: number;
  generations: number;
  /** Reads whose set was inconsistent, and the first few of them. */
  bad: number;
  problems: string[];
}

const { dir, stop } = workerData as { dir: string; stop: Int32Array };
const result: ReaderResult = { reads: 0, vanished: 0, generations: 0, bad: 0, problems: [] };
const seen = new Set<string>();
while (Atomics.load(stop, 0) === 0) {
  let set;
  try {
    set = readCertOutSet(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    result.vanished++;
    continue;
  }
  result.reads++;
  seen.add(set.generation);
  const problem = certOutSetProblem(set);
  if (problem) {
    result.bad++;
    if (result.problems.length < 10) result.problems.push(`${set.generation}: ${problem}`);
  }
}
result.generations = seen.size;
parentPort!.postMessage(result);
