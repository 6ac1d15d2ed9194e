// What one soak agent (soak-agent.ts) measures about itself: the gap between consecutive pongs of each stream it
// opened (a gap is about the ping cadence when nothing stalls), why the worst ones happened, its process's
// event-loop delay and utilization per phase, and its main-thread CPU bursts.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { FinalStats, PhaseStats } from './soak-host.js';

/**
 * The agent's main-thread CPU is read this often to find its largest burst: the most CPU its event loop used
 * within any window of one ping interval. That is load-independent (a busy machine stretches a burst in wall
 * time, not in CPU time), and on an idle core it is the longest the agent's loop could have held a ping or a
 * pong back.
 */
const CPU_TICK_MS = 20;
const GAP_BUCKETS = 60_000; // gap histogram in 1 ms buckets (for p99); longer gaps land in the last one

/**
 * CPU time of this process's main thread (µs): the event loop's own work, without V8's compiler and GC helper
 * threads or libuv's pool, which process.cpuUsage() adds and which do not hold a ping back. Linux: from
 * /proc (clock ticks, 10 ms); elsewhere the whole process's.
 */
const mainThreadStat = `/proc/self/task/${process.pid}/stat`;
let procReadable = process.platform === 'linux';
export function mainThreadCpuUs(): number {
  if (procReadable) {
    try {
      const fields = readFileSync(mainThreadStat, 'latin1').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime + stime, at USER_HZ 100
    } catch {
      procReadable = false;
    }
  }
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Per stream: the previous pong (its leg, when its ping was sent in wall ms, its round trip), and the last leg switch. */
export interface PongTrack {
  lastPong?: number;
  last?: { generation: number; sentAt: number; rttMs: number };
  switchedAt: number;
}

/** Why a gap over the cadence happened, as far as one stream can tell (FinalStats.worstGaps). */
interface GapRecord {
  gapMs: number;
  phase: string;
  /** The pong came on another leg than the previous one, or within 1 s after such a switch. */
  where: 'switch' | 'after-switch' | 'same-leg';
  /** How much later than the cadence its ping was sent (our loop), and how much longer its round trip was (both ends). */
  sendLateMs: number;
  rttMs: number;
  prevRttMs: number;
}

type OwnPhaseStats = Omit<PhaseStats, 'nodeId' | 'liveLegs' | 'channelsOpen'>;
type OwnFinalStats = Pick<FinalStats, 'heartbeats' | 'maxGapMs' | 'gaps' | 'loopMaxMs' | 'cpuBurstMs' | 'gapsOverTarget' | 'worstGaps' | 'measuredCpuS' | 'measuredHeartbeats'>;

export class AgentStats {
  phase = 'warm-up';
  measuring = false;
  heartbeats = 0;
  #maxGapMs = 0;
  #phaseGap = 0;
  readonly #gapHist = new Uint32Array(GAP_BUCKETS + 1);
  readonly #loop = monitorEventLoopDelay({ resolution: 5 });
  #loopMaxMs = 0;
  #elu = performance.eventLoopUtilization();
  /** Recent CPU readings [performance.now(), cumulative µs], oldest first; the largest burst in the phase and while measuring. */
  #cpuTicks: [number, number][] = [];
  #cpuTimer?: NodeJS.Timeout;
  #phaseCpuBurstMs = 0;
  #cpuBurstMs = 0;
  #phaseCpuAt = process.cpuUsage();
  #phaseStartedAt = performance.now();
  /** CPU and pongs when measuring started, and while measuring. */
  #cpuAtMeasure?: NodeJS.CpuUsage;
  #heartbeatsAtMeasure = 0;
  #measuredCpuS = 0;
  #measuredHeartbeats = 0;
  /** Gaps over cadence + 100 ms: counted by where they happened, the 8 worst kept. */
  readonly #gapsByWhere = new Map<string, { n: number; maxMs: number }>();
  #worstGaps: GapRecord[] = [];

  constructor(private readonly heartbeatMs: number) {}

  /** A pong (not a probe's) on `generation`, answering a ping sent at `sentAtMs` (wall clock). */
  pong(s: PongTrack, generation: number, sentAtMs: number): void {
    const now = performance.now();
    const rttMs = Date.now() - sentAtMs;
    this.heartbeats++;
    const switched = s.last !== undefined && s.last.generation !== generation;
    if (this.measuring && s.lastPong !== undefined) {
      const gap = now - s.lastPong;
      this.#gapHist[Math.min(GAP_BUCKETS, Math.round(gap))]!++;
      this.#maxGapMs = Math.max(this.#maxGapMs, gap);
      this.#phaseGap = Math.max(this.#phaseGap, gap);
      if (gap > this.heartbeatMs + 100 && s.last) {
        const where = switched ? 'switch' : now - s.switchedAt < 1000 ? 'after-switch' : 'same-leg';
        this.#noteGap({ gapMs: gap, phase: this.phase, where, sendLateMs: sentAtMs - s.last.sentAt - this.heartbeatMs, rttMs, prevRttMs: s.last.rttMs });
      }
    }
    if (switched) s.switchedAt = now;
    s.last = { generation, sentAt: sentAtMs, rttMs };
    s.lastPong = now;
  }

  #noteGap(g: GapRecord): void {
    const k = `${g.where} in ${g.phase.replace(/-\d+$/, '')}`;
    const c = this.#gapsByWhere.get(k) ?? { n: 0, maxMs: 0 };
    this.#gapsByWhere.set(k, { n: c.n + 1, maxMs: Math.max(c.maxMs, g.gapMs) });
    this.#worstGaps.push(g);
    this.#worstGaps.sort((a, b) => b.gapMs - a.gapMs);
    this.#worstGaps.length = Math.min(this.#worstGaps.length, 8);
  }

  #cpuTick(): void {
    const now = performance.now();
    const cpu = mainThreadCpuUs();
    this.#cpuTicks.push([now, cpu]);
    while (this.#cpuTicks.length > 1 && this.#cpuTicks[1]![0] <= now - this.heartbeatMs) this.#cpuTicks.shift();
    const burst = (cpu - this.#cpuTicks[0]![1]) / 1000;
    this.#phaseCpuBurstMs = Math.max(this.#phaseCpuBurstMs, burst);
    if (this.measuring) this.#cpuBurstMs = Math.max(this.#cpuBurstMs, burst);
  }

  /** Ends the current phase (its stats returned) and starts `next`; `onMeasureStart` runs when measuring begins. */
  nextPhase(next: string, measure: boolean, onMeasureStart: () => void): OwnPhaseStats {
    const loopMaxMs = this.#loop.max / 1e6;
    if (this.measuring) this.#loopMaxMs = Math.max(this.#loopMaxMs, loopMaxMs);
    const cpu = process.cpuUsage(this.#phaseCpuAt);
    const stats: OwnPhaseStats = {
      maxGapMs: this.#phaseGap,
      loopMaxMs,
      busy: performance.eventLoopUtilization(this.#elu).utilization,
      cpuBurstMs: this.#phaseCpuBurstMs,
      cpuPerSecondMs: (cpu.user + cpu.system) / 1000 / Math.max(0.001, (performance.now() - this.#phaseStartedAt) / 1000),
    };
    [this.#phaseCpuBurstMs, this.#phaseCpuAt, this.#phaseStartedAt] = [0, process.cpuUsage(), performance.now()];
    this.#cpuTimer ??= setInterval(() => this.#cpuTick(), CPU_TICK_MS);
    // Measuring starts with fresh gaps: warm-up's stream starts do not count.
    if (measure && !this.measuring) {
      onMeasureStart();
      [this.#cpuAtMeasure, this.#heartbeatsAtMeasure] = [process.cpuUsage(), this.heartbeats];
    }
    if (!measure && this.measuring && this.#cpuAtMeasure) {
      const c = process.cpuUsage(this.#cpuAtMeasure);
      this.#measuredCpuS = (c.user + c.system) / 1e6;
      this.#measuredHeartbeats = this.heartbeats - this.#heartbeatsAtMeasure;
    }
    [this.measuring, this.phase, this.#phaseGap, this.#elu] = [measure, next, 0, performance.eventLoopUtilization()];
    this.#loop.enable();
    this.#loop.reset();
    return stats;
  }

  final(): OwnFinalStats {
    const gaps: [number, number][] = [];
    this.#gapHist.forEach((n, ms) => n && gaps.push([ms, n]));
    return {
      heartbeats: this.heartbeats,
      maxGapMs: this.#maxGapMs,
      gaps,
      loopMaxMs: this.#loopMaxMs,
      cpuBurstMs: this.#cpuBurstMs,
      gapsOverTarget: [...this.#gapsByWhere].map(([k, v]) => `${k}: ${v.n} (max ${v.maxMs.toFixed(0)} ms)`),
      worstGaps: this.#worstGaps.map((g) => `${g.gapMs.toFixed(0)} ms ${g.where} in ${g.phase}: ping sent ${g.sendLateMs} ms late, round trip ${g.rttMs} ms (previous ${g.prevRttMs})`),
      measuredCpuS: this.#measuredCpuS,
      measuredHeartbeats: this.#measuredHeartbeats,
    };
  }

  stop(): void {
    this.#loop.disable();
    clearInterval(this.#cpuTimer);
  }
}
