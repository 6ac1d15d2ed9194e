// Scenario 7: the agent's state dir fills up (a small tmpfs the test mounts; needs root, else the scenario is
// skipped and says so). Each cycle: the disk is filled, the agent is started (no write needed to start with
// a stored identity) and asked to renew at once (HITLESS_TEST_RENEW_AT_START): the renewal fails before any
// CSR is sent (no certificate is minted that could not be saved), `renewal.failed` carries a hint, the old
// identity keeps serving (`agent status` answers with the old serial, identity.json is untouched); then space
// returns and the agent's own retry renews (recovery = space back → identity.renewed).
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, run, runJson, type Daemon } from '../helpers/proc.js';
import { startAgent } from '../helpers/agents.js';
import type { StoredIdentity } from '../../agent/identity-store.js';
import type { AgentStatus } from '../../agent/agent-status.js';
import { keyMatchesCertificate } from '../../shared/pki/keys.js';
import { newResult, type ScenarioResult } from './report.js';
import { readCaRecords, type ScenarioContext } from './common.js';

export async function diskFull(ctx: ScenarioContext, o: { cycles: number }): Promise<ScenarioResult> {
  const r = newResult('7 agent state dir full', 'space back → renewal saved');
  const mnt = join(ctx.dir, 'mnt');
  await mkdir(mnt, { mode: 0o700 });
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt]);
  if (mounted.code !== 0) {
    r.notes.push(`SKIPPED: cannot mount a tmpfs here (${mounted.stderr.trim()}): needs root`);
    return r;
  }
  const { init, stateDir: caDir, passphraseFile } = await initCa(ctx.dir, { nodeCertTtl: '1h' });
  const address = `127.0.0.1:${await freePort()}`;
  const ca: Daemon = (await serveCa(caDir, passphraseFile, ['--renew-rate', '1000000/1m'], address)).daemon;
  const port = await freePort();
  const stateDir = join(mnt, 'node');
  const identity = async () => JSON.parse(await readFile(join(stateDir, 'identity.json'), 'utf8')) as StoredIdentity;
  const held = new Set<string>();
  let nodeId = '';
  try {
    const first = startAgent(mnt, 'node', { ca: address, token: init.tokens.worker, port });
    nodeId = String((await first.daemon.waitFor('identity.ready', { timeoutMs: 60_000 })).nodeId);
    await first.daemon.stop();
    const filler = join(mnt, 'filler');
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      const before = await identity();
      held.add(before.serial);
      await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k']); // until ENOSPC
      const issuedBefore = ca.events.filter((e) => e.event === 'node.renewed').length;
      const a = startAgent(mnt, 'node', { ca: address, port, env: { HITLESS_TEST_RENEW_AT_START: '1' } });
      try {
        const failed = await a.daemon.waitFor('renewal.failed', { timeoutMs: 60_000 });
        const err = failed.err as { code?: string; message?: string } | undefined;
        if (err?.code !== 'UNAVAILABLE' || !/ENOSPC/.test(String(err.message)) || !/free space/.test(String(failed.hint))) {
          r.problems.push(`cycle ${cycle}: renewal.failed without the ENOSPC message and hint: ${JSON.stringify(failed)}`);
        }
        // Still serving the old identity: status answers with it, identity.json is untouched.
        const status = await runJson<AgentStatus>('agent', ['status', '--json', '--state-dir', stateDir]);
        if (status.serial !== before.serial) r.problems.push(`cycle ${cycle}: status shows ${status.serial}, expected the old ${before.serial}`);
        if ((await identity()).serial !== before.serial) r.problems.push(`cycle ${cycle}: identity.json changed on a full disk`);
        const issuedDuring = ca.events.filter((e) => e.event === 'node.renewed').length - issuedBefore;
        if (issuedDuring) r.problems.push(`cycle ${cycle}: the CA minted ${issuedDuring} certificate(s) the node could not save`);
        const mark = a.daemon.events.length;
        const t0 = Date.now();
        await rm(filler);
        const renewed = await a.daemon.waitFor('identity.renewed', { after: mark, timeoutMs: 90_000 });
        r.recoveryMs.push(Date.parse(String(renewed.time)) - t0);
        const after = await identity();
        if (after.serial !== renewed.serial || !keyMatchesCertificate(after.keyPem, after.chainPem[0]!)) {
          r.problems.push(`cycle ${cycle}: identity.json after the renewal does not hold the new key pair`);
        }
        held.add(after.serial);
        r.cycles++;
      } catch (err) {
        r.nodesLockedOut++;
        r.problems.push(`cycle ${cycle}: ${(err as Error).message.slice(0, 800)}`);
        break;
      } finally {
        await a.daemon.stop();
        await rm(filler, { force: true });
      }
    }
  } finally {
    await ca.stop();
    if ((await run('umount', [mnt])).code !== 0) await run('umount', ['-l', mnt]);
  }
  await readCaRecords(caDir, async (rec) => {
    for (const s of held) {
      const c = await rec.cert(s);
      if (!c || c.nodeId !== nodeId) {
        r.certificatesLost++;
        r.problems.push(`serial ${s} held by the node is not on record for it`);
      }
    }
  });
  r.notes.push('renewal.failed carries UNAVAILABLE "cannot write the node identity … ENOSPC" and a "free space" hint; no certificate minted while full');
  return r;
}
