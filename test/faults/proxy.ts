// A TCP fault proxy the fault campaign owns: clients dial the proxy on 127.0.0.1, the proxy dials the target,
// and bytes move between them through a lane per direction that the test can break:
//  - blackhole(): no byte (and no FIN/RST) moves in either direction, on open and new connections, until
//    restore(). Bytes are held, not dropped: TCP would retransmit them, so a path that returns delivers
//    them (dropping bytes of a TCP stream is not something a network can do to TLS without a reset).
//  - reset(): every open connection is reset (RST) on both sides; refuse(true) resets new ones at accept.
//  - shape({ delayMs, bytesPerSecond, lossRate, lossStallMs, segmentBytes }): one-way delay, a bandwidth
//    cap, "loss" as a TCP retransmission stall on a random share of writes, and writes cut into small
//    segments (so that TLS records and HTTP/2 frames arrive in pieces).
// Order is kept per direction whatever the shaping. Time comes from real timers: the proxy moves real bytes.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface Shaping {
  /** Added to every segment, one way. @default 0 */
  delayMs?: number;
  /** Per direction and connection; unlimited when absent. */
  bytesPerSecond?: number;
  /** Share of writes held back by lossStallMs, as a retransmission would. @default 0 */
  lossRate?: number;
  /** @default 200 (Linux's minimum retransmission timeout) */
  lossStallMs?: number;
  /** Largest segment written at once. @default unlimited */
  segmentBytes?: number;
}

type Item = { at: number; data?: Buffer; end?: true; reset?: true };

class Lane {
  readonly #queue: Item[] = [];
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly to: Socket,
    private readonly count: (n: number) => void,
  ) {}

  push(item: Omit<Item, 'at'>): void {
    const s = this.proxy.shaping;
    const now = Date.now();
    const pieces: Omit<Item, 'at'>[] = [];
    if (item.data && s.segmentBytes && item.data.length > s.segmentBytes) {
      for (let i = 0; i < item.data.length; i += s.segmentBytes) pieces.push({ data: item.data.subarray(i, i + s.segmentBytes) });
    } else {
      pieces.push(item);
    }
    // A loss stalls the whole write (one packet's worth, as a retransmission would), not each small segment.
    const stall = item.data && s.lossRate && this.proxy.random() < s.lossRate ? (s.lossStallMs ?? 200) : 0;
    for (const [i, p] of pieces.entries()) {
      let at = Math.max(this.#lastAt, now + (s.delayMs ?? 0) + (i === 0 ? stall : 0));
      if (p.data && s.bytesPerSecond) at += (p.data.length / s.bytesPerSecond) * 1000;
      this.#lastAt = at;
      this.#queue.push({ ...p, at });
    }
    this.pump();
  }

  pump(): void {
    if (this.#timer) return;
    while (this.#queue.length && !this.proxy.blackholed && !this.#done) {
      const head = this.#queue[0]!;
      const wait = head.at - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.#queue.shift();
      if (head.data) {
        this.count(head.data.length);
        if (!this.to.destroyed) this.to.write(head.data);
      } else if (head.end) {
        this.to.end();
      } else if (head.reset) {
        this.#done = true;
        this.to.resetAndDestroy();
      }
    }
  }

  stop(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

interface Conn {
  client: Socket;
  upstream: Socket;
  lanes: Lane[];
}

export interface ProxyStats {
  connections: number;
  resets: number;
  bytesUp: number;
  bytesDown: number;
}

export class FaultProxy {
  #server!: Server;
  readonly #conns = new Set<Conn>();
  #blackholed = false;
  #refuse = false;
  shaping: Shaping = {};
  readonly stats: ProxyStats = { connections: 0, resets: 0, bytesUp: 0, bytesDown: 0 };
  port = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    readonly random: () => number,
  ) {}

  /** Listens on 127.0.0.1:`port` (0 = any free port) and forwards to `target`. */
  static async start(target: { host?: string; port: number }, opts: { port?: number; random?: () => number } = {}): Promise<FaultProxy> {
    const p = new FaultProxy({ host: target.host ?? '127.0.0.1', port: target.port }, opts.random ?? Math.random);
    // Half-open allowed: a FIN is forwarded through the lane (in order, after the bytes before it), not acted on at once.
    p.#server = createServer({ allowHalfOpen: true }, (client) => p.#accept(client));
    p.#server.listen(opts.port ?? 0, '127.0.0.1');
    await once(p.#server, 'listening');
    p.port = (p.#server.address() as { port: number }).port;
    return p;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get blackholed(): boolean {
    return this.#blackholed;
  }

  get openConnections(): number {
    return this.#conns.size;
  }

  /** Moves the target (e.g. a restarted process on another port); open connections keep their old upstream. */
  retarget(port: number): void {
    this.target.port = port;
  }

  blackhole(): void {
    this.#blackholed = true;
  }

  restore(): void {
    this.#blackholed = false;
    this.#refuse = false;
    this.shaping = {};
    for (const c of this.#conns) for (const l of c.lanes) l.pump();
  }

  shape(s: Shaping): void {
    this.shaping = { ...s };
  }

  /** Resets every open connection (RST both ways). */
  reset(): number {
    const n = this.#conns.size;
    for (const c of [...this.#conns]) this.#drop(c);
    this.stats.resets += n;
    return n;
  }

  /** While on, new connections are reset as soon as they are accepted. */
  refuse(on: boolean): void {
    this.#refuse = on;
  }

  async close(): Promise<void> {
    for (const c of [...this.#conns]) this.#drop(c);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #drop(c: Conn): void {
    for (const l of c.lanes) l.stop();
    if (!c.client.destroyed) c.client.resetAndDestroy();
    if (!c.upstream.destroyed) c.upstream.resetAndDestroy();
    this.#conns.delete(c);
  }

  #accept(client: Socket): void {
    this.stats.connections++;
    client.on('error', () => {});
    if (this.#refuse) {
      this.stats.resets++;
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    upstream.on('error', () => {});
    const up = new Lane(this, upstream, (n) => (this.stats.bytesUp += n));
    const down = new Lane(this, client, (n) => (this.stats.bytesDown += n));
    const conn: Conn = { client, upstream, lanes: [up, down] };
    this.#conns.add(conn);
    // An upstream that cannot be reached is a reset seen by the client (as from a dead host's neighbour).
    upstream.once('error', () => down.push({ reset: true }));
    client.once('error', () => up.push({ reset: true }));
    client.on('data', (d: Buffer) => up.push({ data: d }));
    upstream.on('data', (d: Buffer) => down.push({ data: d }));
    client.on('end', () => up.push({ end: true }));
    upstream.on('end', () => down.push({ end: true }));
    const gone = () => {
      if (client.destroyed && upstream.destroyed) this.#conns.delete(conn);
    };
    client.on('close', gone);
    upstream.on('close', gone);
  }
}
