// Scenario 5: a broken network, through the fault proxy (test/faults/proxy.ts). Agent A reaches its peer B
// and the CA only through proxies; B and the CA are reached directly otherwise.
//  - Blackhole A → B: A's heartbeat stream must end with a clear error within the client keepalive bound
//    (shared/grpc/keepalive.ts: time + timeout) and come back once the path returns (detection = blackhole →
//    peer.stream_error; recovery = path restored → peer.stream_up).
//  - Blackhole A → CA: A's CA watch likewise (ca_watch.broken, then ca_watch.connected again).
//  - Reset A → B: every connection RST; the stream comes back (recovery = reset → peer.stream_up).
//  - Renewals over a slow, lossy path (delay, bandwidth cap, retransmission stalls, writes cut into 7-byte
//    segments) and with the path reset at a random instant of the call: a renewal either fails cleanly or
//    returns a certificate for our new key that chains to the roots; the next one is accepted; every
//    certificate received is on the CA's record at the end.
import { setTimeout as delay } from 'node:timers/promises';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, type Daemon } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { fetchRoots, joinNode, renewNode, type TestNode } from '../helpers/node-identity.js';
import { keyMatchesCertificate } from '../../shared/pki/keys.js';
import { verifyChain } from '../../shared/pki/chain.js';
import { FaultProxy, type Shaping } from './proxy.js';
import { newResult, formatDistribution, type ScenarioResult } from './report.js';
import { Prng, errorCode, readCaRecords, type ScenarioContext } from './common.js';

export interface NetworkOptions {
  peerBlackholes: number;
  caBlackholes: number;
  resets: number;
  shapedRenewals: number;
  resetRenewals: number;
  /** Agent client keepalive; undefined = the documented defaults (10 s / 5 s). */
  keepalive?: { time: string; timeout: string };
  /** How long the path stays blackholed after the break was detected (reconnect attempts hang meanwhile). */
  holdMs: number;
  shaping: Shaping;
}

const at = (e: Record<string, unknown>) => Date.parse(String(e.time));

export async function brokenNetwork(ctx: ScenarioContext, o: NetworkOptions): Promise<ScenarioResult> {
  const r = newResult('5 broken network (proxy)', 'path back → stream up again');
  const rng = new Prng(ctx.seed);
  const { init, stateDir, passphraseFile } = await initCa(ctx.dir, { nodeCertTtl: '1h' });
  const caAddress = `127.0.0.1:${await freePort()}`;
  const caPort = Number(caAddress.split(':')[1]);
  const ca: Daemon = (await serveCa(stateDir, passphraseFile, ['--renew-rate', '1000000/1m'], caAddress)).daemon;
  const extra = o.keepalive ? ['--keepalive-time', o.keepalive.time, '--keepalive-timeout', o.keepalive.timeout] : [];
  const proxies: FaultProxy[] = [];
  const agents: TestAgent[] = [];
  const detect = { peer: [] as number[], ca: [] as number[], reset: [] as number[] };
  const errors = new Set<string>();
  try {
    const b = startAgent(ctx.dir, 'b', { ca: caAddress, token: init.tokens.worker, port: await freePort(), extra });
    agents.push(b);
    await b.daemon.waitFor('agent.listening', { timeoutMs: 60_000 });
    const toB = await FaultProxy.start({ port: b.port }, { random: () => rng.int(1e9) / 1e9 });
    const toCa = await FaultProxy.start({ port: caPort }, { random: () => rng.int(1e9) / 1e9 });
    proxies.push(toB, toCa);
    const a = startAgent(ctx.dir, 'a', { ca: toCa.address, token: init.tokens.worker, port: await freePort(), peers: [toB.port], extra });
    agents.push(a);
    const ev = a.daemon;
    await ev.waitFor('peer.stream_up', { timeoutMs: 60_000 });
    await ev.waitFor('ca_watch.connected', { timeoutMs: 60_000 });
    const boundMs = 60_000;

    const cut = async (proxy: FaultProxy, kind: 'peer' | 'ca') => {
      const brokenEvent = kind === 'peer' ? 'peer.stream_error' : 'ca_watch.broken';
      const upEvent = kind === 'peer' ? 'peer.stream_up' : 'ca_watch.connected';
      const mark = ev.events.length;
      const t0 = Date.now();
      proxy.blackhole();
      const broken = await ev.waitFor(brokenEvent, { after: mark, timeoutMs: boundMs });
      detect[kind].push(at(broken) - t0);
      errors.add(`${brokenEvent}: code ${String(broken.code)} ${String(broken.details)}`);
      if (!broken.details || broken.code !== 14) r.problems.push(`${brokenEvent} without a clear UNAVAILABLE error: ${JSON.stringify(broken)}`);
      await delay(o.holdMs); // the path stays down a while: reconnect attempts hang in it
      const mark2 = ev.events.length;
      const t1 = Date.now();
      proxy.restore();
      const up = await ev.waitFor(upEvent, { after: mark2, timeoutMs: boundMs });
      r.recoveryMs.push(at(up) - t1);
      r.cycles++;
    };
    for (let i = 0; i < o.peerBlackholes; i++) await cut(toB, 'peer');
    for (let i = 0; i < o.caBlackholes; i++) await cut(toCa, 'ca');
    for (let i = 0; i < o.resets; i++) {
      const mark = ev.events.length;
      const t0 = Date.now();
      toB.reset();
      const broken = await ev.waitFor('peer.stream_error', { after: mark, timeoutMs: boundMs });
      detect.reset.push(at(broken) - t0);
      errors.add(`peer.stream_error after reset: code ${String(broken.code)} ${String(broken.details)}`);
      const up = await ev.waitFor('peer.stream_up', { after: mark, timeoutMs: boundMs });
      r.recoveryMs.push(at(up) - t0);
      r.cycles++;
    }

    // Renewals over a bad path, by a test-side node (it keeps every certificate it is given).
    const toCaRenew = await FaultProxy.start({ port: caPort }, { random: () => rng.int(1e9) / 1e9 });
    proxies.push(toCaRenew);
    const roots = await fetchRoots(caAddress);
    let node: TestNode = await joinNode(caAddress, init.tokens.worker, roots);
    const received: string[] = [node.cert.serial];
    const check = async (n: TestNode, how: string) => {
      const leaf = n.cert.chain_pem[0]!;
      const chain = await verifyChain({ leaf, intermediates: n.cert.chain_pem.slice(1), roots, at: new Date() });
      if (!chain.ok || !keyMatchesCertificate(n.keyPem, leaf)) r.problems.push(`${how}: a renewal returned a certificate that ${chain.ok ? 'does not match our key' : `does not chain (${chain.detail})`}`);
    };
    let shapedOk = 0;
    let shapedFailed = 0;
    toCaRenew.shape(o.shaping);
    for (let i = 0; i < o.shapedRenewals; i++) {
      try {
        const next = await renewNode(toCaRenew.address, node, roots);
        await check(next, 'shaped path');
        received.push(next.cert.serial);
        node = next;
        shapedOk++;
      } catch (err) {
        shapedFailed++;
        errors.add(`renewal over the shaped path failed: ${errorCode(err)}`);
      }
    }
    toCaRenew.restore();
    let resetLanded = 0;
    for (let i = 0; i < o.resetRenewals; i++) {
      const attempt = renewNode(toCaRenew.address, node, roots);
      await delay(rng.int(40));
      toCaRenew.reset();
      try {
        const next = await attempt;
        await check(next, 'reset path');
        received.push(next.cert.serial);
        node = next;
        resetLanded++;
      } catch {
        /* cut before the answer: the next renewal (fallback) must be accepted */
      }
      try {
        node = await renewNode(toCaRenew.address, node, roots);
        await check(node, 'after a reset');
        received.push(node.cert.serial);
      } catch (err) {
        r.nodesLockedOut++;
        r.problems.push(`the renewal after a reset was refused: ${errorCode(err)}`);
        break;
      }
      r.cycles++;
    }
    r.notes.push(`blackhole detection (keepalive ${o.keepalive ? `${o.keepalive.time}/${o.keepalive.timeout}` : 'default 10s/5s'}): peer stream ${formatDistribution(detect.peer)}, CA watch ${formatDistribution(detect.ca)}; reset → stream error ${formatDistribution(detect.reset)}`);
    r.notes.push(`renewals over a ${JSON.stringify(o.shaping)} path: ${shapedOk} ok, ${shapedFailed} failed cleanly; ${o.resetRenewals} renewals reset mid-call (${resetLanded} landed anyway), each followed by an accepted renewal`);
    r.notes.push(`errors seen: ${[...errors].join(' | ')}`);
    for (const ag of agents) await ag.daemon.stop();
    agents.length = 0;
    await ca.stop();
    await readCaRecords(stateDir, async (rec) => {
      for (const s of received) {
        if (!(await rec.cert(s))) {
          r.certificatesLost++;
          r.problems.push(`certificate ${s} was received but is not on record`);
        }
      }
    });
  } finally {
    for (const ag of agents) await ag.daemon.stop().catch(() => {});
    for (const p of proxies) await p.close();
    await ca.stop().catch(() => {});
  }
  return r;
}
