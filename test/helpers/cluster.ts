// Starting a real CA for a test: `ca init` then `ca serve` on 127.0.0.1 with a free port.
// HITLESS_TEST_STORE=etcd (`npm run test:etcd`): the same suites with the cluster kept in etcd — each CA gets its
// own single etcd member (killed when the test process ends: startEtcd's untilExit), `ca init --etcd` and `ca serve --etcd`.
import { join } from 'node:path';
import { runJson, spawnDaemon, type Daemon } from './proc.js';
import { writePassphrase } from './tmp.js';
import { startEtcd } from './etcd.js';

const ON_ETCD = process.env.HITLESS_TEST_STORE === 'etcd';
/** state dir → the --etcd flags its CA is served with. */
const etcdArgs = new Map<string, string[]>();

/** With HITLESS_TEST_STORE=etcd: how an in-process serveCa reaches the etcd of the CA initialized in `stateDir`. */
export function testEtcdConnection(stateDir: string): { endpoints: string[] } | undefined {
  const args = etcdArgs.get(stateDir);
  return args ? { endpoints: [args[1]!] } : undefined;
}

export interface InitJson {
  clusterId: string;
  rootFingerprint: string;
  rootDigest: string;
  tokens: { worker: string; manager: string };
  paths: { dir: string; rootCert: string; adminSocket: string; store: string };
}

export interface TestCa {
  init: InitJson;
  stateDir: string;
  passphraseFile: string;
  daemon: Daemon;
  address: string;
  restart(): Promise<void>;
}

export async function initCa(dir: string, opts: { nodeCertTtl?: string } = {}): Promise<{ init: InitJson; stateDir: string; passphraseFile: string }> {
  const stateDir = join(dir, 'ca');
  const passphraseFile = await writePassphrase(dir);
  if (ON_ETCD) etcdArgs.set(stateDir, ['--etcd', (await startEtcd(join(dir, 'etcd'), 1, { untilExit: true })).endpoints.join(',')]);
  const init = await runJson<InitJson>('ca', [
    'init', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--json',
    '--node-cert-ttl', opts.nodeCertTtl ?? '1h', ...(etcdArgs.get(stateDir) ?? []),
  ]);
  return { init, stateDir, passphraseFile };
}

export async function serveCa(stateDir: string, passphraseFile: string, extra: string[] = [], listen = '127.0.0.1:0'): Promise<{ daemon: Daemon; port: number }> {
  const daemon = spawnDaemon('ca', ['serve', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--listen', listen, ...(etcdArgs.get(stateDir) ?? []), ...extra]);
  // A CA that does not come up is stopped here: the caller never gets its handle to stop it (test/helpers/proc.ts).
  const ev = await daemon.waitFor('ca.listening').catch(async (err: unknown) => {
    await daemon.stop().catch(() => {});
    throw err;
  });
  return { daemon, port: ev.port as number };
}

export async function startCa(dir: string, opts: { nodeCertTtl?: string; serveArgs?: string[] } = {}): Promise<TestCa> {
  const { init, stateDir, passphraseFile } = await initCa(dir, opts);
  const first = await serveCa(stateDir, passphraseFile, opts.serveArgs);
  const ca: TestCa = {
    init,
    stateDir,
    passphraseFile,
    daemon: first.daemon,
    address: `127.0.0.1:${first.port}`,
    async restart() {
      await ca.daemon.stop();
      // Same port, so clients' targets stay valid.
      const next = await serveCa(stateDir, passphraseFile, opts.serveArgs, ca.address);
      ca.daemon = next.daemon;
    },
  };
  return ca;
}
