// `agent`: the hitless node agent command line, as a commander tree (agent/main.ts runs it). With main.ts,
// the only file in agent/ that reads argv and the environment.
import { Command, Option } from 'commander';
import { systemClock } from '../shared/clock.js';
import { createLogger, type Level } from '../shared/log.js';
import { parseDuration } from '../shared/duration.js';
import { runDaemon } from '../shared/daemon.js';
import { parseHostPort } from '../shared/metrics-http.js';
import { HitlessError } from '../shared/errors.js';
import { NODE_PORT_LIMITS, limitOptions, limitOverrides } from '../shared/grpc/limits.js';
import { parseTlsMinVersion, TLS_MIN_VERSION_HELP, type TlsMinVersion } from '../shared/grpc/tls-policy.js';
import { NodeAgent } from './node-agent.js';
import type { AgentStatus } from './agent-status.js';
import { parseCaAddresses, MAX_CA_ADDRESSES, type CaStart } from './ca-endpoints.js';
import { fetchStatus } from './status-server.js';
import { formatStatus } from './status-format.js';
import { readJoinToken, scrubArgv, ARGV_TOKEN_WARNING, TOKEN_ENV } from './token-source.js';
import { skewedClock, testHooksFromEnv } from './test-hooks.js';

const DEFAULT_STATE_DIR = './hitless-agent';
/** Exit code of `agent run` when its certificate expired while it ran (documented in the README). */
const EXIT_EXPIRED = 1;
const duration = (flag: string) => (v: string) => parseDuration(v, flag);
const collect = (v: string, acc: string[]) => [...acc, v];
const collectFirst = (v: string, acc: string[] | undefined) => [...(acc ?? []), v];
const hostPort = (v: string) => (parseHostPort(v), v);

/** The `agent` command tree (agent/main.ts runs it; test/integration/cli-help.test.ts walks its --help). */
export const program = new Command('agent')
  .description('hitless node agent: joins once, renews before expiry, rotates credentials on live connections')
  .option('--debug', 'print stack traces on errors');

const run = program
  .command('run')
  .description('run the agent: join (first start) or load the stored identity, serve the node service, renew forever')
  .requiredOption(
    '--ca <host:port,...>',
    `address of ca serve; several replicas of one cluster: comma-separated or repeated (at most ${MAX_CA_ADDRESSES}). The agent uses the first, stays on an address while it answers, and moves to the next one when it is unreachable or times out`,
    collectFirst,
  )
  .addOption(
    new Option('--ca-start <how>', 'which --ca address to begin with: the first listed (a preference order), or one picked at random when the agent starts (spreads nodes that share one --ca list over the replicas)')
      .choices(['first', 'random'])
      .default('first'),
  )
  .option('--token-file <file>', `file whose first line is the join token, or - for stdin; needed on the first start only (or set ${TOKEN_ENV}, which the agent removes from its environment once read)`)
  .option('--token <token>', 'join token on the command line: deprecated, visible in ps; prefer --token-file')
  .option('--state-dir <dir>', 'where the node keeps its key and certificate', DEFAULT_STATE_DIR)
  .option('--listen <host:port>', 'address of this node service (port 0 picks a free port)', '127.0.0.1:7469')
  .option('--peer <host:port>', 'a peer agent to hold a heartbeat stream with (repeatable)', collect, [] as string[])
  .option('--cert-out <dir>', 'also write node.crt, node.key, ca-bundle.crt here after every rotation')
  .option('--on-rotate <command>', 'shell command to run after each rotation (with --cert-out), e.g. "nginx -s reload"')
  .addOption(new Option('--heartbeat-interval <duration>', 'interval between heartbeats on peer streams').argParser(duration('--heartbeat-interval')).default(1000, '1s'))
  .addOption(new Option('--probe-interval <duration>', 'interval between WhoAmI probes to peers').argParser(duration('--probe-interval')).default(1000, '1s'))
  .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (off by default; e.g. 127.0.0.1:9469)', hostPort)
  .option('--max-connection-age <duration>', 'GOAWAY connections after this age; can only shorten the default (cert lifetime / 10, at most 30m)', duration('--max-connection-age'))
  .option('--tls-min-version <version>', TLS_MIN_VERSION_HELP, parseTlsMinVersion)
  .option('--keepalive-time <duration>', 'ping the CA and peers this often while a stream is open (default: 10s)', duration('--keepalive-time'))
  .option('--keepalive-timeout <duration>', 'drop a connection whose ping is unanswered this long; a blackholed peer is detected within keepalive time + timeout (default: 5s)', duration('--keepalive-timeout'));
// Resource limits of the node port (shared/grpc/limits.ts; README "Resource limits").
for (const option of limitOptions(Option, NODE_PORT_LIMITS)) run.addOption(option);
run
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
  .action(async (o: {
    ca: string[]; caStart: CaStart; token?: string; tokenFile?: string; stateDir: string; listen: string; peer: string[]; certOut?: string;
    onRotate?: string; keepaliveTime?: number; keepaliveTimeout?: number; heartbeatInterval: number; probeInterval: number; maxConnectionAge?: number; metricsListen?: string; tlsMinVersion?: TlsMinVersion; logLevel: Level;
  }) => {
    if (o.onRotate && !o.certOut) {
      throw new HitlessError('INVALID_ARGUMENT', '--on-rotate needs --cert-out', { hint: 'the command is run after the files in --cert-out are replaced' });
    }
    // First thing: the token leaves argv and the environment before anything else can copy them.
    const input = await readJoinToken({ flag: o.token, file: o.tokenFile, env: process.env, stdin: process.stdin });
    const token = input.token;
    const log = createLogger({ level: o.logLevel, base: { component: 'agent' } });
    const caAddresses = parseCaAddresses(o.ca);
    if (input.source === 'argv' && token) {
      scrubArgv(token);
      process.stderr.write(`agent: warning: ${ARGV_TOKEN_WARNING}\n`);
      log.warn('token.argv_deprecated', { hint: ARGV_TOKEN_WARNING });
    }
    for (const w of input.warnings) log.warn('token.file_permissions', { warning: w });
    if (input.source) log.info('token.read', { source: input.source });
    const testHooks = testHooksFromEnv(process.env);
    const clock = testHooks?.clockSkewMs ? skewedClock(systemClock, testHooks.clockSkewMs) : systemClock;
    const agent = new NodeAgent(
      {
        caAddresses, caStart: o.caStart, token, stateDir: o.stateDir, listen: o.listen, peers: o.peer, certOut: o.certOut, onRotate: o.onRotate,
        heartbeatIntervalMs: o.heartbeatInterval, probeIntervalMs: o.probeInterval, maxConnectionAgeMs: o.maxConnectionAge,
        metricsListen: o.metricsListen,
        limits: limitOverrides(o), tlsMinVersion: o.tlsMinVersion,
        keepalive: { timeMs: o.keepaliveTime, timeoutMs: o.keepaliveTimeout },
        testHooks,
      },
      { clock, log },
    );
    // A certificate that expired while running cannot be renewed (identity.expired is logged with the re-join
    // hint): stop and exit non-zero, so that a supervisor sees the node is out rather than a process that
    // serves nothing. The restart then refuses with CERT_EXPIRED and the same hint until a token is given.
    agent.once('expired', () => {
      process.stderr.write(`agent: the node certificate expired; it cannot be renewed (CERT_EXPIRED)\nhint: re-join: restart the agent with --token-file <file> or ${TOKEN_ENV} ('ca join-token worker' on the CA host)\n`);
      void agent.stop().finally(() => process.exit(EXIT_EXPIRED));
    });
    await runDaemon('agent', log, async () => {
      await agent.start();
      return () => agent.stop();
    });
  });

program
  .command('status')
  .description('show the running agent: identity, next renewal, trust bundle, per-peer stream counters')
  .option('--state-dir <dir>', 'the agent state directory', DEFAULT_STATE_DIR)
  .option('--json', 'print JSON')
  .action(async (o: { stateDir: string; json?: boolean }) => {
    const status = await fetchStatus<AgentStatus>(o.stateDir);
    process.stdout.write(o.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
  });
