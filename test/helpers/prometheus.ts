// Reading a real `/metrics` page in tests: fetch it, pick one sample out of the text exposition, and run the
// exposition through `promtool check metrics` (Debian package `prometheus`; tests skip when it is absent).
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200, `GET /metrics answered ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of the sample `name{labels}` whose labels include `labels`; undefined when there is none. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export const promtoolPath = (): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

export const PROMTOOL_MISSING = 'promtool not installed (Debian package "prometheus"; .ci/run installs it)';

/** Runs `promtool <args>` with `stdin`; resolves with its exit code and combined output. */
export function promtool(args: string[], stdin = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(stdin);
  });
}

/**
 * `promtool check metrics` on a page: it must parse, and our own (`hitless_`) families must be lint-clean.
 * prom-client's default `nodejs_active_*_total` gauges are the only lint findings it may report, since their
 * names are prom-client's, not ours.
 */
export async function assertExpositionValid(text: string): Promise<void> {
  const all = await promtool(['check', 'metrics'], text);
  const findings = all.output.split('\n').filter((l) => l.trim());
  for (const f of findings) assert.match(f, /^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/, `promtool: ${all.output}`);
  const ours = text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?hitless_/.test(l))
    .join('\n');
  const own = await promtool(['check', 'metrics'], ours + '\n');
  assert.equal(own.code, 0, `promtool check metrics on the hitless_ families: ${own.output}`);
}
