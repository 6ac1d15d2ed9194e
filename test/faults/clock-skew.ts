// Scenario 6: an agent whose clock is minutes off the CA's. The skew is injected into the agent's Clock
// (test-only HITLESS_TEST_CLOCK_SKEW_MS, agent/test-hooks.ts): every decision the agent makes by time — the
// chain check of what the CA returns, the renewal schedule, expiry — runs on the skewed clock. TLS itself still
// checks against the machine's real clock (one machine cannot have two), so this proves the agent's logic and
// the CA's backdate (5 min by default), not OpenSSL's. Each cycle, for one skew: a fresh node joins, then is
// restarted and renews; after each `agent status` must show the skew it measured from the CA's issued_at
// (within 2 s), and the next renewal must fall inside 50-80 % of the certificate's real lifetime.
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, runJson, type Daemon } from '../helpers/proc.js';
import { startAgent } from '../helpers/agents.js';
import type { AgentStatus } from '../../agent/agent-status.js';
import { RENEW_WINDOW } from '../../agent/renewal-schedule.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import type { ScenarioContext } from './common.js';

export async function clockSkew(ctx: ScenarioContext, o: { skewsMs: number[] }): Promise<ScenarioResult> {
  const r = newResult('6 clock skew agent vs CA', 'agent spawn → renewal accepted');
  const { init, stateDir, passphraseFile } = await initCa(ctx.dir, { nodeCertTtl: '1h' });
  const address = `127.0.0.1:${await freePort()}`;
  const ca: Daemon = (await serveCa(stateDir, passphraseFile, ['--renew-rate', '1000000/1m'], address)).daemon;
  const measuredErr: number[] = [];
  const ttlMs = 3_600_000;
  /** The next renewal, back on the CA's timeline, must fall in 50-80 % of the lifetime. */
  const inWindow = (what: string, notAfter: string, renewAtCaTime: number, issued: number) => {
    const life = Date.parse(notAfter) - issued;
    const fraction = (renewAtCaTime - issued) / life;
    // 1 s of slack either side: issued_at has ms, notAfter whole seconds, and the skew includes one delay.
    const slack = 1_000 / life;
    if (!(fraction >= RENEW_WINDOW.from - slack && fraction <= RENEW_WINDOW.to + slack)) {
      r.problems.push(`${what}: next renewal at ${(fraction * 100).toFixed(1)} % of the lifetime (window ${RENEW_WINDOW.from * 100}-${RENEW_WINDOW.to * 100} %)`);
    }
  };
  try {
    for (const [i, skew] of o.skewsMs.entries()) {
      const name = `n${i}`;
      const port = await freePort();
      const env = { HITLESS_TEST_CLOCK_SKEW_MS: String(skew) };
      const check = async (what: string) => {
        const s = await runJson<AgentStatus>('agent', ['status', '--json', '--state-dir', `${ctx.dir}/${name}`]);
        if (s.clockSkewMs === undefined) {
          r.problems.push(`skew ${skew} ms, ${what}: agent status shows no clock skew`);
          return;
        }
        measuredErr.push(Math.abs(s.clockSkewMs - skew));
        if (Math.abs(s.clockSkewMs - skew) > 2_000) r.problems.push(`skew ${skew} ms, ${what}: agent status shows ${s.clockSkewMs} ms`);
        inWindow(`skew ${skew} ms, ${what}`, s.notAfter, Date.parse(s.nextRenewalAt ?? '') - skew, Date.parse(s.issuedAt));
      };
      const joined = startAgent(ctx.dir, name, { ca: address, token: init.tokens.worker, port, env });
      try {
        const scheduled = await joined.daemon.waitFor('renewal.scheduled', { timeoutMs: 60_000 });
        const ready = await joined.daemon.waitFor('identity.ready', { timeoutMs: 1 });
        inWindow(`skew ${skew} ms, after the join`, String(ready.notAfter), Date.parse(String(scheduled.at)) - skew, Date.parse(String(ready.notAfter)) - ttlMs);
      } catch (err) {
        r.nodesLockedOut++;
        r.problems.push(`skew ${skew} ms: the join failed: ${(err as Error).message.slice(0, 600)}`);
        continue;
      } finally {
        await joined.daemon.stop();
      }
      const spawnedAt = Date.now();
      const again = startAgent(ctx.dir, name, { ca: address, port, env: { ...env, HITLESS_TEST_RENEW_AT_START: '1' } });
      try {
        await again.daemon.waitFor('identity.renewed', { timeoutMs: 60_000 });
        r.recoveryMs.push(Date.now() - spawnedAt);
        await check('after a renewal');
        r.cycles++;
      } catch (err) {
        r.nodesLockedOut++;
        r.problems.push(`skew ${skew} ms: the renewal failed: ${(err as Error).message.slice(0, 600)}`);
      } finally {
        await again.daemon.stop();
      }
    }
  } finally {
    await ca.stop();
  }
  r.notes.push(`skews ${o.skewsMs.map((s) => `${s / 1000}s`).join(', ')}: |status clock skew - injected| ${formatDistribution(measuredErr)}`);
  return r;
}
