// Figure 6's report clients as the bench (the CA's process) sees them: a child process (report-main.ts) that
// makes the simulated nodes' evidence reports over the wire, so that the CA's process CPU is the CA's alone
// (the guide: where a load generator shares the cores, report the server's own CPU per operation). Requests
// go over IPC one per report; the child bounds the connections in flight (32 at most: below the CA's 64
// connections per source without an authenticated call yet) and queues the rest.
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

/** One node's report: its new key and chain, its bundle (roots) and the bundle's version. */
export interface ReportRequest { id: number; keyPem: string; chainPem: string[]; rootsPem: string[]; bundleVersion: number }
/** The roots the report named (its leaf's and the CA certificate's of that connection), or why it failed. */
export interface ReportReply { id: number; roots?: string[]; error?: string }
/** The child's CPU (its own and its reaped children's: the curl processes), µs, and its client's counts. */
export interface ReportCpu { cpuUs: number; stats: Record<string, number> }
/** A report client inside the child (report-curl.ts, report-node.ts). */
export interface ReportClient {
  /** What makes the connections, for the figures' labels. */
  readonly name: string;
  readonly stats: Record<string, number>;
  /** The roots named by the report once the CA answered OK; rejects with what went wrong. */
  report(req: ReportRequest): Promise<string[]>;
  /** Resolves once nothing is queued or in flight (and every helper process has exited). */
  idle(): Promise<void>;
  close(): void;
}

/** Nice value of the report client process (0 = the CA's; 19 = the lowest): HITLESS_BENCH_REPORT_NICE, default 10. */
function loadGeneratorNice(): number {
  const text = process.env.HITLESS_BENCH_REPORT_NICE ?? '10';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`HITLESS_BENCH_REPORT_NICE takes 0 to 19, got "${text.slice(0, 20)}"`);
  return n;
}

/**
 * The report client process. HITLESS_BENCH_REPORT_CLIENT=node|curl picks the client (default: curl when a
 * suitable one is installed, else node:http2 with a message saying why).
 */
export class ReportClients {
  readonly #child;
  readonly #replies = new Map<number, (r: ReportReply) => void>();
  #cpu: ((c: ReportCpu) => void)[] = [];
  #nextId = 0;
  /** Set once ready: the client the child uses (e.g. "curl 7.88.1 (OpenSSL/3.0.19, nghttp2/1.52.0)"). */
  client = '';
  readonly ready: Promise<void>;

  constructor(address: string, choice = process.env.HITLESS_BENCH_REPORT_CLIENT) {
    // Only what it needs in its environment; the tsx loader comes through execArgv (fork's default).
    this.#child = fork(fileURLToPath(new URL('./report-main.ts', import.meta.url)), [], {
      env: { PATH: process.env.PATH, HITLESS_BENCH_CA: address, ...(choice ? { HITLESS_BENCH_REPORT_CLIENT: choice } : {}) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // The nodes' side runs at a lower priority (its curl processes inherit it): in a real fleet each node is a
    // machine of its own, so the CA should get the cores whenever it can use them; the clients take the rest.
    if (this.#child.pid !== undefined) setPriority(this.#child.pid, loadGeneratorNice());
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('error', reject);
      this.#child.once('exit', (code) => reject(new Error(`report client process exited (${code}) before it was ready`)));
      this.#child.on('message', (m: ReportReply | ReportCpu | { ready: string }) => {
        if ('ready' in m) {
          this.client = m.ready;
          return resolve();
        }
        if ('cpuUs' in m) return this.#cpu.shift()?.(m);
        this.#replies.get(m.id)?.(m);
        this.#replies.delete(m.id);
      });
    });
  }

  /** One report (queued in the child, which bounds the connections in flight). */
  report(req: Omit<ReportRequest, 'id'>): Promise<ReportReply> {
    const id = this.#nextId++;
    return new Promise<ReportReply>((resolve) => {
      this.#replies.set(id, resolve);
      this.#child.send({ id, ...req } satisfies ReportRequest);
    });
  }

  /** The client process's CPU time so far (its own and its finished helpers'), s; waits until it is idle. */
  async cpu(): Promise<{ s: number; stats: Record<string, number> }> {
    const c = await new Promise<ReportCpu>((resolve) => {
      this.#cpu.push(resolve);
      this.#child.send({ cpu: true });
    });
    return { s: c.cpuUs / 1e6, stats: c.stats };
  }

  async cpuS(): Promise<number> {
    return (await this.cpu()).s;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((res) => this.#child.once('exit', res));
    // Closing the IPC channel ends it (report-main.ts exits on 'disconnect': a normal exit, so --cpu-prof writes).
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
