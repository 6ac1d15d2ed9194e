// Child process of the soak (figure 5): one agent (soak-agent.ts) on an event loop of its own, as production
// runs every agent. Requests come over IPC from the coordinator (soak-host.ts ChildHost), replies go back with
// the same id; log lines go up as { log }. Exits when the coordinator closes the channel.
import { SoakAgent } from './soak-agent.js';
import type { ChildMessage, Request } from './soak-host.js';

const send = (m: ChildMessage) => process.connected && process.send!(m);
const agent = new SoakAgent((line) => send({ log: line }));
process.on('message', (m: { id: number; req: Request }) => {
  agent.handle(m.req).then(
    (reply) => send({ id: m.id, reply }),
    (err: unknown) => send({ id: m.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
