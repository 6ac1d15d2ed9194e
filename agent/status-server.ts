// `agent status` talks to the running agent over <state-dir>/agent.sock (mode 0600): plain HTTP + JSON on a
// Unix socket, readable with curl --unix-socket too.
import { createServer, request, type Server } from 'node:http';
import { chmod, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HitlessError } from '../shared/errors.js';

export const statusSocketPath = (stateDir: string) => join(stateDir, 'agent.sock');

export async function startStatusServer(stateDir: string, status: () => unknown): Promise<{ close(): Promise<void> }> {
  const path = statusSocketPath(stateDir);
  await unlink(path).catch(() => {});
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status()));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  await chmod(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }).then(() => unlink(path).catch(() => {})),
  };
}

export function fetchStatus<T>(stateDir: string): Promise<T> {
  const socketPath = statusSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/status', method: 'GET', timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body) as T));
    });
    req.on('error', (cause) =>
      reject(
        new HitlessError('UNAVAILABLE', `no agent is running for ${stateDir} (${socketPath}: ${cause.message})`, {
          cause,
          hint: `start it with 'agent run --state-dir ${stateDir} ...'`,
        }),
      ),
    );
    req.end();
  });
}
