// Spawning the real `ca` and `agent` executables for integration tests. Daemons log JSON lines; tests wait
// for events with a deadline (the deadline is a failure bound, never a pause) and kill children by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = { ca: `${ROOT}bin/ca.js`, agent: `${ROOT}bin/agent.js` } as const;
/** One of this checkout's executables, or any by path (an installed package's `ca`), run in `cwd`. */
/** `nodeArgs`: flags for node itself, before the script (e.g. V8 flags a benchmark compares). */
export type Program = keyof typeof BIN | { name: string; path: string; cwd: string; nodeArgs?: string[] };
const programOf = (p: Program) => (typeof p === 'string' ? { name: p, path: BIN[p], cwd: ROOT, nodeArgs: [] } : { nodeArgs: [], ...p });

export type LogEvent = Record<string, unknown> & { event: string };

export interface Daemon {
  child: ChildProcess;
  events: LogEvent[];
  output: string[];
  /** Resolves with the first event (already seen or future) matching; rejects after timeoutMs or on exit. */
  waitFor(event: string, opts?: { timeoutMs?: number; where?: (e: LogEvent) => boolean; after?: number; nth?: number }): Promise<LogEvent>;
  /**
   * Sends SIGTERM (or `signal`) and resolves with the exit code. A daemon that is still running
   * STOP_DEADLINE_MS later is SIGKILLed and the promise rejects: not exiting on SIGTERM is a defect.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Daemons stop within 15 s (shared/daemon.ts); this bound only turns a hang into a failure. */
const STOP_DEADLINE_MS = 20_000;
/** No CLI call in our tests takes this long; past it the command is killed and the test fails. */
const CLI_DEADLINE_MS = 90_000;

/** Every child this file spawned and has not seen exit, with what it runs. */
const live = new Map<ChildProcess, string>();
/** Children a test asked to stop (stop(), or a signal it sent): one not reaped yet at exit is no leak. */
const stopping = new WeakSet<ChildProcess>();
// A test file ends with process.exit (`--test-force-exit` in the npm scripts): from Node 26 on, --test-timeout
// bounds each test and hook but no longer the test file's process (nodejs/node#57672), so a file that left a
// daemon running (a setup that failed under load before a test could hold its handle) kept its process alive
// and `npm test` waited forever. A child still running here was never stopped: it is killed, named, and the
// file fails instead of passing quietly.
process.on('exit', () => {
  const leaked = [...live].filter(([c]) => c.exitCode === null && c.signalCode === null && !c.killed && !stopping.has(c));
  for (const [c] of live) if (c.pid) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  // Only in a test file: the benchmark and fault campaigns (npm run bench / faults) also end through here.
  if (leaked.length === 0 || !process.env.NODE_TEST_CONTEXT) return;
  process.stderr.write(`test/helpers/proc.ts: ${leaked.length} process(es) still running when this test file ended, killed now (stop what a test starts, in after()):\n${leaked.map(([c, what]) => `  pid ${c.pid}: ${what}`).join('\n')}\n`);
  process.exitCode = 1;
});
// `node --test` ends a test file that overran --test-timeout with SIGTERM, which by default exits without
// 'exit' handlers: the file's CA, agents and etcd members (test/helpers/etcd.ts) then ran on as orphans for the
// rest of the suite, loading the machine and failing later files. Exit through the handlers instead — unless the
// process handles the signal itself: the demo (test/demo.ts) imports this file, stops gracefully on SIGINT and
// SIGTERM, and inherits NODE_TEST_CONTEXT when a test runs it (ctrl-c.test.ts).
if (process.env.NODE_TEST_CONTEXT) {
  for (const [signal, n] of [['SIGTERM', 15], ['SIGINT', 2]] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) === 1) process.exit(128 + n);
    });
  }
}

export function spawnDaemon(program: Program, args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const { name: bin, path, cwd, nodeArgs } = programOf(program);
  const child = spawn(process.execPath, [...nodeArgs, path, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.set(child, `${bin} ${args.join(' ')}`.slice(0, 200));
  const events: LogEvent[] = [];
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    output.push(line);
    if (output.length > 2000) output.shift();
    if (line.startsWith('{')) {
      try {
        events.push(JSON.parse(line) as LogEvent);
      } catch {
        /* not a log line */
      }
    }
    for (const w of waiters) w();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const w of waiters) w();
      resolve(code ?? (signal ? -1 : null));
    }),
  );
  const waitFor: Daemon['waitFor'] = (event, opts = {}) => {
    const { timeoutMs = 20_000, where = () => true, after = 0, nth = 1 } = opts;
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.slice(after).filter((e) => e.event === event && where(e))[nth - 1];
        if (hit) return done(() => resolve(hit));
        if (child.exitCode !== null || child.signalCode !== null) {
          return done(() => reject(new Error(`${bin} exited before "${event}"; last output:\n${output.slice(-30).join('\n')}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}" from ${bin}; last output:\n${output.slice(-30).join('\n')}`))),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        fn();
      };
      waiters.add(check);
      check();
    });
  };
  return {
    child,
    events,
    output,
    waitFor,
    exited,
    async stop(signal = 'SIGTERM') {
      stopping.add(child);
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, signal);
      let timer: NodeJS.Timeout | undefined;
      const overdue = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          if (child.pid) process.kill(child.pid, 'SIGKILL');
          reject(new Error(`${bin} did not exit within ${STOP_DEADLINE_MS} ms of ${signal}; killed. Last output:\n${output.slice(-30).join('\n')}`));
        }, STOP_DEADLINE_MS);
      });
      try {
        return await Promise.race([exited, overdue]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed, and the promise rejected, after CLI_DEADLINE_MS). */
export function runCli(program: Program, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const { name, path, cwd } = programOf(program);
  return collect(spawn(process.execPath, [path, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), `${name} ${args.join(' ')}`);
}

async function collect(child: ChildProcess, what: string): Promise<CliResult> {
  live.set(child, what.slice(0, 200));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`"${what}" did not finish within ${CLI_DEADLINE_MS} ms; killed. stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, CLI_DEADLINE_MS);
  });
  try {
    const [code] = (await Promise.race([once(child, 'exit'), overdue])) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

export async function runJson<T>(program: Program, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const r = await runCli(program, args, env);
  if (r.code !== 0) throw new Error(`${programOf(program).name} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs any executable (openssl) and returns its result. */
export function run(cmd: string, args: string[]): Promise<CliResult> {
  return collect(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }), `${cmd} ${args.join(' ')}`);
}

/** A TCP port that was free a moment ago (for processes that must know each other's ports up front). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
