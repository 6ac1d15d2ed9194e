// The short fuzz run (issue 8): 500 malformed inputs, mutated from valid ones with a fixed seed, against a real
// `ca serve` (test/fuzz/campaign.ts): CSRs, join tokens, protobuf messages of the node CA API and of the admin
// API over TCP, gRPC framing and request headers, and raw HTTP/2 frames. 0 crashes (the CA stays up, a
// legitimate node joins and renews at every checkpoint, the CA stops cleanly afterwards), 0 state changes (the
// node records are exactly what accepted answers said, over the admin socket and in the store after the stop),
// every reply a clear status. The long run is `npm run fuzz` (10,000 cases, a random seed, printed).
// The oracles themselves are proven to fire on planted bad replies and states, and the cases to replay exactly
// from their seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { formatTable, runCampaign } from '../fuzz/campaign.js';
import { judgeReply, mayHaveIssued, stateDiff, MAX_MESSAGE_CHARS } from '../fuzz/oracle.js';
import { Prng } from '../fuzz/prng.js';
import { DER, PROTOBUF, TOKEN, mutate } from '../fuzz/mutate.js';
import { callFrames, mutateFrames } from '../fuzz/frames.js';
import type { CaseResult } from '../fuzz/cases.js';

const SEED = 20261202;

test('500 mutated inputs against a real CA: no crash, no state change, every reply a clear status', async () => {
  const report = await runCampaign({ cases: 500, seed: SEED, checkEvery: 250 });
  const table = formatTable(report);
  assert.deepEqual(report.findings, [], `seed ${SEED}:\n${table}\n${JSON.stringify(report.findings, null, 2)}`);
  assert.equal(report.caExitCode, 0);
  assert.equal(report.checkpoints, 2);
  // Every kind of input was sent, and the CA refused most of it (a campaign of accepted inputs proves little).
  for (const kind of ['csr/join', 'csr/renew', 'token', 'grpc/framing', 'h2/frames', 'protobuf/IssueNodeCertificate', 'protobuf/RenewNodeCertificate']) {
    assert.ok(report.table.has(kind), `no ${kind} case in:\n${table}`);
  }
  const refused = [...report.table.values()].flatMap((row) => [...row.entries()]).filter(([o]) => o !== 'ok').reduce((n, [, c]) => n + c, 0);
  assert.ok(refused > 400, `only ${refused} of 500 refused:\n${table}`);
});

test('crash oracle: a CA that dies mid-campaign ends the run with a crash finding and a report', async () => {
  let killed = false;
  const report = await runCampaign({
    cases: 200,
    seed: SEED,
    checkEvery: 100,
    afterCase: (index, pid) => {
      if (index >= 20 && !killed) {
        killed = true;
        process.kill(pid, 'SIGKILL');
      }
    },
  });
  const crash = report.findings.find((f) => f.outcome === 'crash');
  assert.ok(crash, JSON.stringify(report.findings, null, 2));
  assert.match(crash.problem, /the CA process exited/);
  assert.ok([...report.table.values()].flatMap((row) => [...row.values()]).reduce((a, b) => a + b, 0) < 200, 'the campaign stopped early');
  assert.notEqual(report.caExitCode, 0);
});

test('a seed replays the same mutations; another seed does not', () => {
  const csr = Buffer.from('3081d130790201003017311530130603550403130c6869746c657373', 'hex');
  const token = Buffer.from(`HTLS-1-${'a'.repeat(50)}-${'b'.repeat(25)}`);
  const run = (seed: number) => {
    const root = new Prng(seed);
    return Array.from({ length: 50 }, (_, i) => {
      const rng = root.fork(i);
      return [mutate(DER, csr, rng), mutate(TOKEN, token, rng), mutate(PROTOBUF, csr, rng), mutateFrames(callFrames('/p', csr), rng, [])].map((m) => `${m.how}:${m.bytes.toString('hex')}`).join('|');
    });
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
  // Case i of a run is case i alone (replay with --case): forks do not depend on the cases before them.
  assert.equal(new Prng(7).fork(42).u32(), new Prng(7).fork(42).u32());
});

const ctx = { validTokens: new Set(['HTLS-1-valid']), keySpkis: [Buffer.from('key-0')] };
const reply = (r: Partial<CaseResult>): CaseResult => ({ kind: 'token', how: 'bit-flip', outcome: 'x', size: 1, ...r });

test('reply oracle: fires on an unexpected code, our INTERNAL, an empty, long or unescaped message, no status', () => {
  const problems = (r: Partial<CaseResult>) => judgeReply(reply(r), ctx).problems;
  assert.deepEqual(problems({ code: status.UNAUTHENTICATED, message: 'malformed join token: expected HTLS-1-<digest>-<secret>' }), []);
  assert.deepEqual(problems({ code: status.INTERNAL, message: 'Error deserializing request: index out of range' }), []);
  assert.deepEqual(problems({ code: status.UNKNOWN, message: 'boom' }), ['unexpected status UNKNOWN']);
  assert.deepEqual(problems({ code: status.UNAVAILABLE, message: 'x' }), ['unexpected status UNAVAILABLE']);
  assert.deepEqual(problems({ code: status.INTERNAL, message: 'internal error (ref 1); see the CA log' }), ['INTERNAL from the CA (unexpected exception)']);
  assert.deepEqual(problems({ code: status.INVALID_ARGUMENT, message: ' ' }), ['empty status message']);
  assert.deepEqual(problems({ code: status.INVALID_ARGUMENT, message: 'x'.repeat(MAX_MESSAGE_CHARS + 1) }), [`status message of ${MAX_MESSAGE_CHARS + 1} chars (> 512)`]);
  assert.deepEqual(problems({ code: status.INVALID_ARGUMENT, message: 'token "\u0000\u001b[2J"' }), ['status message carries control characters (unescaped input)']);
  assert.deepEqual(problems({ outcome: 'no-status' }), ['no gRPC status']);
  assert.deepEqual(problems({ kind: 'grpc/framing', how: 'header-content-type', outcome: 'http:415' }), []);
  assert.deepEqual(problems({ kind: 'h2/frames', outcome: 'goaway:PROTOCOL_ERROR' }), []);
  assert.deepEqual(problems({ kind: 'h2/frames', outcome: 'harness-error' }), ['no protocol-level answer']);
});

test('reply oracle: an OK is judged by what was sent — real token, a key the fuzzer holds, never admin over TCP', () => {
  const issued = { nodeId: 'n1', serial: 's1', leafSpki: Buffer.from('key-0'), chainPem: ['pem'] };
  const ok = (r: Partial<CaseResult>) => judgeReply(reply({ code: status.OK, outcome: 'ok', issued, ...r }), ctx);
  assert.deepEqual(ok({ token: ' HTLS-1-valid\n' }), { problems: [], accepted: { type: 'join', nodeId: 'n1', serial: 's1', keyIndex: 0, chainPem: ['pem'] } });
  assert.deepEqual(ok({ token: 'HTLS-1-valiD' }).problems, ['join accepted with an invalid token ("HTLS-1-valiD")']);
  assert.deepEqual(ok({ token: 'HTLS-1-valid', issued: { ...issued, leafSpki: Buffer.from('key-9') } }).problems, ['certificate issued for a key the fuzzer does not hold']);
  assert.deepEqual(ok({ kind: 'csr/renew' }).accepted?.type, 'renew');
  assert.deepEqual(ok({ kind: 'h2/frames', token: 'HTLS-1-wrong' }).problems, ['join accepted with an invalid token ("HTLS-1-wrong")']);
  assert.deepEqual(ok({ kind: 'protobuf/admin.GetJoinTokens', issued: undefined }).problems, ['admin call over TCP succeeded']);
  assert.deepEqual(ok({ kind: 'csr/join', token: 'HTLS-1-valid', issued: undefined }).problems, ['OK without a certificate']);
});

test('state oracle: a node without an accepted answer, a changed serial or a vanished node is a change', () => {
  const expected = new Map([['a', '1'], ['b', '2']]);
  assert.equal(stateDiff(expected, new Map([['a', '1'], ['b', '2']]), 0), undefined);
  assert.match(stateDiff(expected, new Map([['a', '1'], ['b', '2'], ['c', '3']]), 0)!, /1 node\(s\) appeared without an accepted answer, only 0/);
  assert.equal(stateDiff(expected, new Map([['a', '1'], ['b', '2'], ['c', '3']]), 1), undefined);
  assert.match(stateDiff(expected, new Map([['a', '1'], ['b', '9']]), 0)!, /node b has serial 9, the accepted answers say 2/);
  assert.match(stateDiff(expected, new Map([['a', '1']]), 0)!, /node b vanished/);
  // Only a valid join in damaged framing whose answer was lost may account for an unattributed node.
  assert.equal(mayHaveIssued(reply({ kind: 'grpc/framing', mayIssue: true, outcome: 'grpc:DEADLINE_EXCEEDED' })), true);
  assert.equal(mayHaveIssued(reply({ kind: 'grpc/framing', mayIssue: true, outcome: 'grpc:UNIMPLEMENTED' })), false);
  assert.equal(mayHaveIssued(reply({ kind: 'token', outcome: 'grpc:DEADLINE_EXCEEDED' })), false);
});
