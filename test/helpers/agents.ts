// Starting real `agent run` processes for integration tests.
import { join } from 'node:path';
import { runJson, spawnDaemon, type Daemon } from './proc.js';
import type { AgentStatus } from '../../agent/node-agent.js';

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
  o: { ca: string; token?: string; port: number; peers?: number[]; extra?: string[] },
): TestAgent {
  const stateDir = join(dir, name);
  const args = ['run', '--ca', o.ca, '--state-dir', stateDir, '--listen', `127.0.0.1:${o.port}`];
  if (o.token) args.push('--token', o.token);
  for (const p of o.peers ?? []) args.push('--peer', `127.0.0.1:${p}`);
  args.push('--heartbeat-interval', '200ms', '--probe-interval', '500ms', ...(o.extra ?? []));
  const daemon = spawnDaemon('agent', args);
  return { name, stateDir, port: o.port, daemon, status: () => runJson<AgentStatus>('agent', ['status', '--json', '--state-dir', stateDir]) };
}
