// Starting real `agent run` processes for integration tests.
import { join } from 'node:path';
import { BIN, ROOT, spawnDaemon, type Daemon } from './proc.js';
import { fetchStatus } from '../../agent/status-server.js';
import type { AgentStatus } from '../../agent/agent-status.js';

export interface TestAgent {
  name: string;
  stateDir: string;
  port: number;
  daemon: Daemon;
  status(): Promise<AgentStatus>;
}

export function startAgent(
  dir: string,
  name: string,
  o: { ca: string; token?: string; port: number; peers?: number[]; extra?: string[]; env?: NodeJS.ProcessEnv; nodeArgs?: string[] },
): TestAgent {
  const stateDir = join(dir, name);
  const args = ['run', '--ca', o.ca, '--state-dir', stateDir, '--listen', `127.0.0.1:${o.port}`];
  for (const p of o.peers ?? []) args.push('--peer', `127.0.0.1:${p}`);
  args.push('--heartbeat-interval', '200ms', '--probe-interval', '500ms', ...(o.extra ?? []));
  // The token goes through the environment, as operators are told to pass it (never argv).
  const program = o.nodeArgs ? { name: 'agent', path: BIN.agent, cwd: ROOT, nodeArgs: o.nodeArgs } : 'agent';
  const daemon = spawnDaemon(program, args, { ...o.env, ...(o.token ? { HITLESS_JOIN_TOKEN: o.token } : {}) });
  // The status the `agent status --json` command prints, asked in-process from the agent's status socket: the
  // command itself is run by ca-failover.test.ts and the fault tests; spawning it for every check cost ~0.9 s of
  // CPU each (tsx), dozens of times per file.
  return { name, stateDir, port: o.port, daemon, status: () => statusOf(stateDir, daemon) };
}

/**
 * Waits until every agent of a full mesh has its streams up to each peer and one probe (a fresh handshake) has
 * succeeded to each. The agents start together, so a first probe can find its peer not listening yet: grpc-js then
 * puts that probe channel in reconnect backoff, and a probe during the backoff fails at once ("No connection
 * established. Last error: ECONNREFUSED"), possibly seconds later, inside the first case that counts probe
 * failures from its start. After a success the channel is ready, and a failed probe means what the tests assert.
 */
export async function meshUp(mesh: readonly TestAgent[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(
    mesh.flatMap((a) => [
      a.daemon.waitFor('peer.stream_up', { nth: mesh.length - 1, timeoutMs }),
      ...mesh.filter((b) => b !== a).map((b) => a.daemon.waitFor('peer.serial_seen', { where: (e) => e.peer === `127.0.0.1:${b.port}`, timeoutMs })),
    ]),
  );
}

/**
 * The agent opens its status socket just after `agent.listening` (no event of its own): a status asked at once
 * may find no socket yet. Retried while the agent runs, for at most 20 s (the bound turns a missing socket into a
 * failure, never a pause).
 */
async function statusOf(stateDir: string, daemon: Daemon): Promise<AgentStatus> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await fetchStatus<AgentStatus>(stateDir);
    } catch (err) {
      const running = daemon.child.exitCode === null && daemon.child.signalCode === null;
      if ((err as { code?: string }).code !== 'UNAVAILABLE' || !running || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
