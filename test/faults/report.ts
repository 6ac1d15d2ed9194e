// The figures every fault scenario reports, and the one table `npm run faults` prints. A scenario returns a
// ScenarioResult; the short versions in `npm test` assert on the same fields (losses must be 0).
export interface ScenarioResult {
  scenario: string;
  /** Faults injected (kills, outages, cuts). */
  cycles: number;
  /** Certificates a client received that the CA has no record of after the fault. Must be 0. */
  certificatesLost: number;
  /** Nodes that could not renew (nor rejoin without a token) after the fault. Must be 0. */
  nodesLockedOut: number;
  /** Failed TLS handshakes / calls between agents attributable to the fault. Must be 0 where it applies. */
  failedHandshakes?: number;
  /** What "recovery" measures for this scenario, e.g. "kill → first renewal accepted". */
  recoveryMeans: string;
  recoveryMs: number[];
  /** Extra figures, printed under the table (detection times, retry spread, skew measured...). */
  notes: string[];
  /** Invariant violations found (each one is a failure, with what and where). */
  problems: string[];
}

export function newResult(scenario: string, recoveryMeans: string): ScenarioResult {
  return { scenario, cycles: 0, certificatesLost: 0, nodesLockedOut: 0, recoveryMeans, recoveryMs: [], notes: [], problems: [] };
}

export interface Distribution {
  n: number;
  min: number;
  p50: number;
  p90: number;
  max: number;
}

export function distribution(values: number[]): Distribution | undefined {
  if (!values.length) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, min: s[0]!, p50: at(0.5), p90: at(0.9), max: s[s.length - 1]! };
}

const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

export function formatDistribution(values: number[]): string {
  const d = distribution(values);
  return d ? `${ms(d.min)} / ${ms(d.p50)} / ${ms(d.p90)} / ${ms(d.max)}` : '-';
}

export function formatTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'cycles', 'certs lost', 'locked out', 'failed handshakes', 'recovery min / p50 / p90 / max', 'recovery is'];
  const rows = results.map((r) => [
    r.scenario,
    String(r.cycles),
    String(r.certificatesLost),
    String(r.nodesLockedOut),
    r.failedHandshakes === undefined ? 'n/a' : String(r.failedHandshakes),
    formatDistribution(r.recoveryMs),
    r.recoveryMeans,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  for (const r of results) {
    for (const n of r.notes) out.push(`- ${r.scenario}: ${n}`);
    for (const p of r.problems.slice(0, 20)) out.push(`- ${r.scenario}: PROBLEM: ${p}`);
  }
  return out.join('\n');
}

/** Whether a scenario held every invariant it checks. */
export function passed(r: ScenarioResult): boolean {
  return r.certificatesLost === 0 && r.nodesLockedOut === 0 && (r.failedHandshakes ?? 0) === 0 && r.problems.length === 0;
}
