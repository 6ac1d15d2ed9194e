// The `/metrics` endpoint (`--metrics-listen HOST:PORT` on `ca serve` and `agent run`): plain HTTP from
// node:http, off unless asked for. It serves one read-only page and is bounded like every other listener:
// only `GET /metrics` (everything else 404/405), small headers, short header/request/keep-alive timeouts,
// a cap on open connections, and scrapes one at a time (a scrape is cheap, but a flood of them must not
// stack up snapshots of 100k node records). Bind it to loopback or a monitoring network: it carries no TLS and
// no authentication, like most exporters, and exposes counts and timestamps only (no secrets, no node ids).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HitlessError } from './errors.js';
import type { Logger } from './log.js';
import { limitExceeded, metrics as processMetrics, type Metrics } from './metrics.js';

export const METRICS_HTTP_LIMITS = {
  /** Open connections at once; Prometheus needs one per scraper. */
  maxConnections: 16,
  /** Request line plus headers, bytes. */
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
} as const;

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** `HOST:PORT` or `[v6]:PORT`; a usage error with a hint otherwise. */
export function parseHostPort(text: string, flag = '--metrics-listen'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new HitlessError('INVALID_ARGUMENT', `${flag} takes HOST:PORT, got "${text.slice(0, 64)}"`, {
      hint: `for example ${flag} 127.0.0.1:9468 (port 0 picks a free port)`,
    });
  }
  return { host: m[1] ?? m[2]!, port };
}

export async function startMetricsServer(listen: string, log: Logger, m: Metrics = processMetrics): Promise<MetricsServer> {
  const { host, port } = parseHostPort(listen);
  // The first thing that will read metrics: prom-client is loaded here, not at import (shared/lazy-metrics.ts).
  const registry = await m.load();
  await m.enableDefaultMetrics();
  const L = METRICS_HTTP_LIMITS;
  let scraping: Promise<string> | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'not found: the only page is /metrics\n');
    if (req.method !== 'GET') return reply(res, 405, 'only GET\n', { allow: 'GET' });
    try {
      // Concurrent scrapes share one rendering instead of each building its own.
      scraping ??= registry.metrics().finally(() => (scraping = undefined));
      reply(res, 200, await scraping, { 'content-type': registry.contentType });
    } catch (err) {
      log.error('metrics.scrape_failed', { err });
      reply(res, 500, 'scrape failed; see the daemon log (metrics.scrape_failed)\n');
    }
  };
  const server = createServer(
    { maxHeaderSize: L.maxHeaderBytes, headersTimeout: L.headersTimeoutMs, requestTimeout: L.requestTimeoutMs, keepAliveTimeout: L.keepAliveTimeoutMs },
    (req, res) => void handle(req, res),
  );
  server.maxConnections = L.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) =>
    limitExceeded(log, 'metrics_http_connections', { max: L.maxConnections, peer: data?.remoteAddress }),
  );
  server.on('clientError', (_err: Error, socket: Socket) => {
    // Oversized headers, timeouts, garbage: a short 400 and the connection closes.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) =>
      reject(new HitlessError('UNAVAILABLE', `cannot listen on ${listen} for metrics: ${err.message}`, { cause: err, hint: 'pick a free address with --metrics-listen' })),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  log.info('metrics.listening', { address: listen, port: bound, path: '/metrics' });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}
