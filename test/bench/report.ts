// Figures for `npm run bench`: every measurement is repeated, reported as median with min and max, and the
// whole run is printed as one table and written as JSON.

export interface Figure {
  id: string;
  what: string;
  unit: string;
  runs: number[];
  median: number;
  min: number;
  max: number;
  target?: string;
  /** Whether the target is met (undefined when the figure has none). */
  met?: boolean;
  note?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function figure(id: string, what: string, unit: string, runs: number[], extra: Partial<Pick<Figure, 'target' | 'met' | 'note'>> = {}): Figure {
  return { id, what, unit, runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs), ...extra };
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

export function table(figures: Figure[]): string {
  const rows = [['#', 'figure', 'median', 'min', 'max', 'unit', 'target', 'met']];
  for (const f of figures) {
    rows.push([f.id, f.what, fmt(f.median), fmt(f.min), fmt(f.max), f.unit, f.target ?? '', f.met === undefined ? '' : f.met ? 'yes' : 'NO']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  const notes = figures.filter((f) => f.note).map((f) => `  ${f.id}: ${f.note}`);
  return out.join('\n') + (notes.length ? `\nnotes:\n${notes.join('\n')}` : '') + '\n';
}

/** Runs `fn` `n` times in sequence and returns the results. */
export async function repeat<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}
