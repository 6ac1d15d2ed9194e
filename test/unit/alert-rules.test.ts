// The alert rules file: valid for Prometheus (`promtool check rules`), each alert fires on the series it is
// about and not on a healthy neighbour (`promtool test rules`), every metric it uses is one we export, and
// every runbook link points at a README section that exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { metrics } from '../../shared/metrics.js';
import { promtool, promtoolPath, PROMTOOL_MISSING } from '../helpers/prometheus.js';

const dir = fileURLToPath(new URL('../../ca/monitoring/', import.meta.url));
const RULES = `${dir}hitless.rules.yml`;
const skip = promtoolPath() ? false : PROMTOOL_MISSING;

test('promtool check rules accepts the rules file', { skip }, async () => {
  const r = await promtool(['check', 'rules', RULES]);
  assert.equal(r.code, 0, r.output);
});

test('promtool test rules: every alert fires on its scenario and stays quiet on the healthy one', { skip }, async () => {
  const r = await promtool(['test', 'rules', `${dir}hitless.rules.test.yml`]);
  assert.equal(r.code, 0, r.output);
});

test('the rules use only metrics we export, and link README sections that exist', async () => {
  const rules = await readFile(RULES, 'utf8');
  metrics.observeCa(async () => ({ nodes: [], roots: [], retired: [], rotation: { phase: 'idle', converged: false, nodesTotal: 0, nodesReissued: 0, bundlesAcknowledged: 0, blockers: [] } }));
  metrics.observeAgent(() => ({ notAfterMs: 0, consecutiveFailures: 0, bundleVersion: 1, roots: 1, caWatchConnected: false, ca: { address: '127.0.0.1:7468', addresses: ['127.0.0.1:7468'] }, peers: [] }));
  const exported = new Set((await metrics.load()).getMetricsAsArray().map((m) => m.name));
  const used = new Set([...rules.matchAll(/\b(hitless_[a-z_]+)/g)].map((m) => m[1]!));
  for (const name of used) assert.ok(exported.has(name), `${name} is used by an alert but not exported`);
  const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const anchors = new Set(
    [...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')),
  );
  const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  assert.ok(alerts.length >= 5);
  for (const link of rules.matchAll(/runbook_url: "README\.md#([\w-]+)"/g)) assert.ok(anchors.has(link[1]!), `README has no section #${link[1]}`);
  assert.equal([...rules.matchAll(/runbook_url:/g)].length, alerts.length, 'every alert links a runbook');
});
