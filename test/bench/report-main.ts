// Child process of figure 6 (report-clients.ts): the simulated nodes' side of their evidence reports, in a
// process of its own so that the CA's process CPU is the CA's alone. It picks the report client — curl
// (report-curl.ts) when a suitable one is installed, else node:http2 (report-node.ts) with a message saying
// why; HITLESS_BENCH_REPORT_CLIENT=node|curl forces one — and counts its CPU: its own plus that of its
// children once they have exited (the curl processes), so figure 6h is the whole load generator's.
//
// Messages in (IPC): ReportRequest | { cpu: true }; out: { ready: client } once, ReportReply (same id),
// ReportCpu.
import { readFileSync } from 'node:fs';
import { CurlReports, findCurl } from './report-curl.js';
import { NodeReports } from './report-node.js';
import type { ReportClient, ReportCpu, ReportReply, ReportRequest } from './report-clients.js';

const [host, portText] = (process.env.HITLESS_BENCH_CA ?? '').split(':');
const port = Number(portText);
if (!host || !(port > 0)) throw new Error('HITLESS_BENCH_CA must be host:port');

/** The CPU of this process's children that have exited and been waited for (Linux /proc; USER_HZ is 100), µs. */
function childrenCpuUs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after "(comm)": state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10_000;
  } catch {
    return 0;
  }
}

function pickClient(): ReportClient {
  const choice = process.env.HITLESS_BENCH_REPORT_CLIENT ?? 'curl';
  if (choice !== 'curl' && choice !== 'node') throw new Error(`HITLESS_BENCH_REPORT_CLIENT takes curl or node, got "${choice.slice(0, 20)}"`);
  if (choice === 'curl') {
    const curl = findCurl({ PATH: process.env.PATH });
    if ('version' in curl) return new CurlReports(host!, port, curl.version, { PATH: process.env.PATH });
    process.stderr.write(`[bench] figure 6's report clients fall back to node:http2 (about a third more CPU per report than curl; figures 6i/6j compare them): ${curl.unavailable}\n`);
  }
  return new NodeReports(host!, port);
}

const client = pickClient();
/** How long a CPU reading waits for the reports in flight to end (it is asked for when none should be). */
const IDLE_WAIT_MS = 10_000;

process.on('message', (m: ReportRequest | { cpu: true }) => {
  if ('cpu' in m) {
    let timer: NodeJS.Timeout | undefined;
    void Promise.race([client.idle(), new Promise((res) => (timer = setTimeout(res, IDLE_WAIT_MS)))]).then(() => {
      clearTimeout(timer);
      const u = process.cpuUsage();
      const childrenUs = childrenCpuUs();
      process.send!({ cpuUs: u.user + u.system + childrenUs, stats: { ...client.stats, 'ms of helper processes CPU': Math.round(childrenUs / 1000) } } satisfies ReportCpu);
    });
    return;
  }
  client.report(m).then(
    (roots) => process.send!({ id: m.id, roots } satisfies ReportReply),
    (err: unknown) => process.send!({ id: m.id, error: (err as Error).message } satisfies ReportReply),
  );
});
// The private key directory goes however this process ends (short of SIGKILL).
process.on('exit', () => client.close());
process.on('disconnect', () => process.exit(0));
process.send!({ ready: client.name });
