// One fuzz campaign against a real `ca serve` (started as the integration tests start it), with its oracles:
//   - no crash: the CA process stays up, and every `checkEvery` cases and at the end a legitimate node joins
//     and renews from 127.0.0.1 (the fuzzer's cases come from other loopback addresses);
//   - no state change: the CA's node records (id → serial) are exactly what the accepted answers said, checked
//     over the admin socket at every checkpoint and in the store itself after the CA stopped; join tokens and
//     the rotation phase never change. An OK is only allowed for input that was actually valid: a join's token
//     must be a real token (modulo the whitespace the CA trims) and every issued key one the fuzzer holds;
//     admin calls over TCP never succeed;
//   - a clear status: every gRPC answer has a code from an expected set, a non-empty printable message of at
//     most 512 characters (no input echoed whole); the CA logs no unexpected internal error and no line over
//     4 KiB. Raw HTTP/2 cases need a protocol-level answer (GOAWAY, RST_STREAM, a response) or silence.
import { createHash } from 'node:crypto';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { fetchRoots, joinNode, renewNode } from '../helpers/node-identity.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { adminClient, call as adminCall } from '../../ca/admin-client.js';
import { LevelStore } from '../../ca/store.js';
import { statePaths } from '../../ca/config.js';
import type { ListNodesResponse__Output } from '../../proto/generated/hitless/v1/ListNodesResponse.js';
import type { GetJoinTokensResponse__Output } from '../../proto/generated/hitless/v1/GetJoinTokensResponse.js';
import type { RootRotationStatus__Output } from '../../proto/generated/hitless/v1/RootRotationStatus.js';
import { Prng } from './prng.js';
import { runCase, spkiOf, type CaseResult, type Fixtures } from './cases.js';
import { judgeReply, mayHaveIssued, stateDiff, MAX_LOG_LINE_CHARS } from './oracle.js';

export interface CampaignOptions {
  cases: number;
  seed: number;
  /** Cases in flight at once. */
  concurrency?: number;
  /** A legitimate join + renewal and a state comparison after every this many cases. */
  checkEvery?: number;
  /** Bound on one case's answer (a case without an answer by then is a finding for gRPC kinds). */
  waitMs?: number;
  /** How long a raw HTTP/2 case waits for any answer before it counts as "silent" (allowed). */
  silentMs?: number;
  /** Only these case indexes (replay of findings). */
  only?: number[];
  onProgress?: (done: number, total: number) => void;
  /** Called after each case with the CA's pid (the tests kill the CA here to prove the crash oracle). */
  afterCase?: (index: number, caPid: number) => void;
}

export interface Finding {
  index: number;
  kind: string;
  how: string;
  outcome: string;
  problem: string;
  message?: string;
}

export interface CampaignReport {
  seed: number;
  cases: number;
  durationMs: number;
  /** kind → outcome → count */
  table: Map<string, Map<string, number>>;
  findings: Finding[];
  checkpoints: number;
  legitimateJoins: number;
  acceptedFuzzJoins: number;
  acceptedFuzzRenewals: number;
  /** Valid join requests inside damaged framing that got no OK (each may rightly have issued). */
  unansweredValidJoins: number;
  /** Nodes in the store without an accepted answer (at most unansweredValidJoins, else a finding). */
  unattributedNodes: number;
  nodesAtEnd: number;
  caExitCode: number | null;
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const { seed, concurrency = 16, checkEvery = 250, waitMs = 15_000, silentMs = 2_000 } = opts;
  const started = Date.now();
  const dir = await tmpDir();
  const ca: TestCa = await startCa(dir.path);
  const port = Number(ca.address.split(':')[1]);
  const findings: Finding[] = [];
  const table = new Map<string, Map<string, number>>();
  const expected = new Map<string, string>(); // nodeId → serial, from accepted answers only
  let legitimateJoins = 0;
  let acceptedFuzzJoins = 0;
  let acceptedFuzzRenewals = 0;
  let unansweredValidJoins = 0;
  let unattributedNodes = 0;
  let checkpoints = 0;
  let caExitCode: number | null = null;
  const admin = await adminClient(ca.stateDir);
  try {
    const roots = await fetchRoots(ca.address);
    const renewerNode = await joinNode(ca.address, ca.init.tokens.worker, roots);
    expected.set(renewerNode.cert.node_id, renewerNode.cert.serial);
    legitimateJoins++;
    const keys = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const { privateKeyPem } = generateKeyPairPem();
        return { keyPem: privateKeyPem, spkiDer: spkiOf(privateKeyPem), csrDer: Buffer.from(await createCsrDer(privateKeyPem)) };
      }),
    );
    const fx: Fixtures = {
      port,
      roots,
      tokens: ca.init.tokens,
      keys,
      derDonors: [Buffer.from(pemToDer(roots[0]!))],
      renewer: { keyPem: renewerNode.keyPem, chainPem: renewerNode.cert.chain_pem },
      bundleVersion: Number(renewerNode.cert.bundle?.version ?? 1),
      rootFingerprint: createHash('sha256').update(pemToDer(roots[0]!)).digest('hex'),
    };
    const tokensAtStart = await adminCall<GetJoinTokensResponse__Output>((o, cb) => admin.GetJoinTokens({}, o, cb));
    const validTokens = new Set([fx.tokens.worker, fx.tokens.manager]);

    const ctx = { validTokens, keySpkis: keys.map((k) => k.spkiDer) };
    const judge = (index: number, r: CaseResult) => {
      if (process.env.FUZZ_DEBUG) console.log(JSON.stringify({ index, kind: r.kind, how: r.how, outcome: r.outcome, message: r.message?.slice(0, 160), ...(process.env.FUZZ_DEBUG === 'payload' ? { payload: r.payload?.toString('hex').slice(0, 1200) } : {}) }));
      const row = table.get(r.kind) ?? new Map<string, number>();
      row.set(r.outcome, (row.get(r.outcome) ?? 0) + 1);
      table.set(r.kind, row);
      if (mayHaveIssued(r)) unansweredValidJoins++;
      const verdict = judgeReply(r, ctx);
      for (const problem of verdict.problems) findings.push({ index, kind: r.kind, how: r.how, outcome: r.outcome, problem, message: r.message?.slice(0, 200) });
      const a = verdict.accepted;
      if (!a) return;
      if (a.type === 'join') acceptedFuzzJoins++;
      else {
        acceptedFuzzRenewals++;
        // Renew from the newest certificate from now on (a superseded one may rightly be refused).
        fx.renewer = { keyPem: keys[a.keyIndex]!.keyPem, chainPem: a.chainPem };
      }
      expected.set(a.nodeId, a.serial);
    };

    // A crash ends the campaign with a finding (and the report, table and all), not with an exception.
    let crashedAfter: number | undefined;
    const caDied = () => ca.daemon.child.exitCode !== null || ca.daemon.child.signalCode !== null;
    const checkpoint = async (label: string) => {
      checkpoints++;
      if (caDied()) {
        findings.push({ index: crashedAfter ?? -1, kind: 'ca', how: label, outcome: 'crash', problem: `the CA process exited; last output: ${ca.daemon.output.slice(-5).join(' | ').slice(0, 600)}` });
        return;
      }
      try {
        const node = await joinNode(ca.address, ca.init.tokens.worker, roots);
        expected.set(node.cert.node_id, node.cert.serial);
        legitimateJoins++;
        const renewed = await renewNode(ca.address, node, roots);
        expected.set(renewed.cert.node_id, renewed.cert.serial);
      } catch (err) {
        findings.push({ index: -1, kind: 'checkpoint', how: label, outcome: 'legitimate join/renew failed', problem: (err as Error).message.slice(0, 300) });
      }
      const listed = await adminCall<ListNodesResponse__Output>((o, cb) => admin.ListNodes({}, o, cb));
      const actual = new Map(listed.nodes.map((n) => [n.node_id, n.serial]));
      const diff = stateDiff(expected, actual, unansweredValidJoins);
      if (diff) findings.push({ index: -1, kind: 'checkpoint', how: label, outcome: 'state changed', problem: diff });
      const tokens = await adminCall<GetJoinTokensResponse__Output>((o, cb) => admin.GetJoinTokens({}, o, cb));
      if (tokens.worker !== tokensAtStart.worker || tokens.manager !== tokensAtStart.manager) {
        findings.push({ index: -1, kind: 'checkpoint', how: label, outcome: 'state changed', problem: 'join tokens changed' });
      }
      const rotation = await adminCall<RootRotationStatus__Output>((o, cb) => admin.GetRootRotationStatus({}, o, cb));
      if (rotation.phase !== 'idle') findings.push({ index: -1, kind: 'checkpoint', how: label, outcome: 'state changed', problem: `root rotation phase ${rotation.phase}` });
    };

    const root = new Prng(seed);
    const indexes = opts.only ?? Array.from({ length: opts.cases }, (_, i) => i);
    let next = 0;
    let done = 0;
    while (next < indexes.length && crashedAfter === undefined) {
      const block = indexes.slice(next, next + checkEvery);
      next += block.length;
      let cursor = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, block.length) }, async () => {
          while (cursor < block.length && crashedAfter === undefined) {
            const index = block[cursor++]!;
            const result = await runCase(fx, index, root.fork(index), waitMs, silentMs).catch((err: unknown) => ({
              kind: 'harness', how: 'exception', outcome: `harness-error`, message: (err as Error).message, size: 0,
            }) as CaseResult);
            judge(index, result);
            opts.onProgress?.(++done, indexes.length);
            opts.afterCase?.(index, ca.daemon.child.pid!);
            if (caDied()) crashedAfter = index;
          }
        }),
      );
      await checkpoint(`after ${done} cases`);
    }

    // The CA's own log: no unexpected exception, no line an attacker could inflate.
    for (const e of ca.daemon.events) {
      if (e.event === 'rpc.internal_error') findings.push({ index: -1, kind: 'ca-log', how: String(e.method), outcome: 'rpc.internal_error', problem: JSON.stringify(e).slice(0, 300) });
      const len = JSON.stringify(e).length;
      if (len > MAX_LOG_LINE_CHARS) findings.push({ index: -1, kind: 'ca-log', how: e.event, outcome: 'long log line', problem: `${len} chars` });
    }
  } finally {
    admin.close();
    caExitCode = await ca.daemon.stop();
  }
  if (caExitCode !== 0) findings.push({ index: -1, kind: 'ca', how: 'stop', outcome: `exit ${caExitCode}`, problem: 'the CA did not stop cleanly after the campaign' });
  // The store itself, read after the CA let go of it.
  const store = await LevelStore.open(statePaths(ca.stateDir).store);
  let nodesAtEnd = 0;
  try {
    const stored = (await store.listNodes()).filter((n) => !n.removedAt);
    nodesAtEnd = stored.length;
    const actual = new Map(stored.map((n) => [n.nodeId, n.serial]));
    unattributedNodes = [...actual.keys()].filter((id) => !expected.has(id)).length;
    const diff = stateDiff(expected, actual, unansweredValidJoins);
    if (diff) findings.push({ index: -1, kind: 'store', how: 'after stop', outcome: 'state changed', problem: diff });
    for (const n of stored) {
      const cert = await store.getCert(n.serial);
      if (!cert || cert.nodeId !== n.nodeId) findings.push({ index: -1, kind: 'store', how: 'after stop', outcome: 'state changed', problem: `node ${n.nodeId}: serial ${n.serial} has no matching certificate record` });
    }
  } finally {
    await store.close();
    await dir.cleanup();
  }
  return {
    seed,
    cases: opts.only?.length ?? opts.cases,
    durationMs: Date.now() - started,
    table,
    findings,
    checkpoints,
    legitimateJoins,
    acceptedFuzzJoins,
    acceptedFuzzRenewals,
    unansweredValidJoins,
    unattributedNodes,
    nodesAtEnd,
    caExitCode,
  };
}

/** The outcome table: one row per input kind, its cases and outcomes by count. */
export function formatTable(report: CampaignReport): string {
  const rows = [['KIND', 'CASES', 'OUTCOMES (count)']];
  const kinds = [...report.table.keys()].sort();
  for (const kind of kinds) {
    const row = report.table.get(kind)!;
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    const outcomes = [...row.entries()].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ');
    rows.push([kind, String(total), outcomes]);
  }
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]}`).join('\n');
}

