// Metrics declared at import time, backed by prom-client only once something will read them. prom-client and
// the @opentelemetry/api it pulls in cost an idle agent ~3 MB of its 60 MB budget (README, figure 8), and an
// agent without `--metrics-listen` never shows its metrics to anyone. So each metric starts as a small
// recorder (a count per label set; a bounded buffer for histogram observations) and `bind()` creates the
// prom-client metric, replays what was recorded and forwards from then on. `Metrics.load()` (shared/metrics.ts)
// binds them all when the /metrics listener starts, which daemons do before serving.
import type { Counter, Gauge, Histogram } from 'prom-client';

export type PromClient = typeof import('prom-client');
export type LabelValues<L extends string> = Partial<Record<L, string | number>>;

/** Histogram observations kept while unbound; a daemon binds before serving, so this only caps a misuse. */
export const MAX_PENDING_OBSERVATIONS = 1000;

interface Spec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

const matches = (labels: Record<string, unknown>, want: Record<string, unknown>) => Object.entries(want).every(([k, v]) => labels[k] === v);

/** One of the metrics below, as `Metrics` registers it. */
export interface Bindable {
  bind(prom: PromClient): Counter<string> | Gauge<string> | Histogram<string>;
}

export class LazyCounter<L extends string = string> implements Bindable {
  #real: Counter<L> | undefined;
  readonly #pending = new Map<string, { labels: LabelValues<L>; value: number }>();

  constructor(readonly spec: Spec<L>) {}

  inc(labels: LabelValues<L> = {}, value = 1): void {
    if (this.#real) return this.#real.inc(labels, value);
    const key = JSON.stringify(Object.entries(labels).sort());
    const p = this.#pending.get(key);
    if (p) p.value += value;
    else this.#pending.set(key, { labels, value });
  }

  bind(prom: PromClient): Counter<L> {
    if (!this.#real) {
      this.#real = new prom.Counter<L>({ name: this.spec.name, help: this.spec.help, labelNames: this.spec.labelNames ?? [], registers: [] });
      for (const p of this.#pending.values()) this.#real.inc(p.labels, p.value);
      this.#pending.clear();
    }
    return this.#real;
  }

  /** The value of the first series whose labels include `labels` (0 if none), bound or not. */
  async value(labels: LabelValues<L> = {}): Promise<number> {
    if (!this.#real) return [...this.#pending.values()].find((p) => matches(p.labels, labels))?.value ?? 0;
    return (await this.#real.get()).values.find((v) => matches(v.labels, labels))?.value ?? 0;
  }
}

/** An unlabelled gauge moved by deltas (e.g. open streams). */
export class LazyGauge implements Bindable {
  #real: Gauge<string> | undefined;
  #pending = 0;

  constructor(readonly spec: Spec<never>) {}

  inc(delta = 1): void {
    if (this.#real) this.#real.inc(delta);
    else this.#pending += delta;
  }

  set(value: number): void {
    if (this.#real) this.#real.set(value);
    else this.#pending = value;
  }

  bind(prom: PromClient): Gauge<string> {
    if (!this.#real) {
      this.#real = new prom.Gauge({ name: this.spec.name, help: this.spec.help, registers: [] });
      this.#real.set(this.#pending);
    }
    return this.#real;
  }
}

export class LazyHistogram<L extends string = string> implements Bindable {
  #real: Histogram<L> | undefined;
  readonly #pending: { labels: LabelValues<L>; seconds: number }[] = [];

  constructor(readonly spec: Spec<L> & { buckets: number[] }) {}

  /** Starts timing; the returned function observes the seconds elapsed. */
  startTimer(labels: LabelValues<L> = {}): () => void {
    const t0 = process.hrtime.bigint();
    return () => this.observe(labels, Number(process.hrtime.bigint() - t0) / 1e9);
  }

  observe(labels: LabelValues<L>, seconds: number): void {
    if (this.#real) this.#real.observe(labels, seconds);
    else if (this.#pending.length < MAX_PENDING_OBSERVATIONS) this.#pending.push({ labels, seconds });
  }

  bind(prom: PromClient): Histogram<L> {
    if (!this.#real) {
      const { name, help, labelNames = [], buckets } = this.spec;
      this.#real = new prom.Histogram<L>({ name, help, labelNames, buckets, registers: [] });
      for (const p of this.#pending.splice(0)) this.#real.observe(p.labels, p.seconds);
    }
    return this.#real;
  }
}

/** A gauge filled from a snapshot at scrape time: nothing to record before it is bound. */
export class SnapshotGauge<S, L extends string = string> implements Bindable {
  #real: Gauge<L> | undefined;

  constructor(
    readonly spec: Spec<L>,
    private readonly snapshot: () => Promise<S | undefined> | S | undefined,
    private readonly fill: (g: Gauge<L>, s: S) => void,
  ) {}

  bind(prom: PromClient): Gauge<L> {
    const { snapshot, fill } = this;
    this.#real ??= new prom.Gauge<L>({
      name: this.spec.name,
      help: this.spec.help,
      labelNames: this.spec.labelNames ?? [],
      registers: [],
      async collect() {
        this.reset();
        const s = await snapshot();
        if (s !== undefined) fill(this, s);
      },
    });
    return this.#real;
  }
}
