// `ca`: the command line of the hitless certificate authority, as a commander tree (ca/main.ts runs it).
// With main.ts, the only file in ca/ that reads argv and the environment or sets the exit code.
import { Command, Option } from 'commander';
import { systemClock } from '../shared/clock.js';
import { createLogger, type Level } from '../shared/log.js';
import { parseDuration, formatDuration } from '../shared/duration.js';
import { runDaemon } from '../shared/daemon.js';
import { parseHostPort } from '../shared/metrics-http.js';
import { CA_PORT_LIMITS, limitOptions, limitOverrides } from '../shared/grpc/limits.js';
import { parseTlsMinVersion, TLS_MIN_VERSION_HELP, type TlsMinVersion } from '../shared/grpc/tls-policy.js';
import { HitlessError } from '../shared/errors.js';
import { NODE_CERT_TTL, BACKDATE, ROOT_SUBJECT_DEFAULT, ROOT_TTL_DEFAULT_MS, PASSPHRASE_ENV } from './config.js';
import { readPassphrase } from './root-key.js';
import { unsealAhead } from './root-material.js';
import type { RotateOptions } from './commands/rotate-root.js';
import type { AdminTarget } from './admin-client.js';
import type { CaAdminServiceClient } from '../proto/load.js';
import type { NodeInfo__Output } from '../proto/load.js';
import type { ListNodesResponse__Output } from '../proto/generated/hitless/v1/ListNodesResponse.js';
import type { RemoveNodeResponse__Output } from '../proto/generated/hitless/v1/RemoveNodeResponse.js';
import type { GetJoinTokensResponse__Output } from '../proto/generated/hitless/v1/GetJoinTokensResponse.js';
import { parseRate, LIMITED_TOKEN, JOIN_RATE_DEFAULTS, formatRate, type Rate } from './token-policy.js';
import { RENEWALS_PER_LIFETIME_DEFAULT } from './renewal-policy.js';
import { OPERATOR_TTL } from './operators.js';

// Each command loads its implementation when it runs, not with this tree: `ca serve` starts unsealing the root
// key (scrypt, ~0.5 s of CPU on libuv's thread pool) before the serving code (grpc-js, the store, the protos)
// loads, so that the two overlap on two cores; and an admin command never loads the CA's serving code.
const load = {
  init: () => import('./commands/init.js'),
  serve: () => import('./commands/serve.js'),
  admin: () => import('./admin-client.js'),
  rotateRoot: () => import('./commands/rotate-root.js'),
  audit: () => import('./commands/audit.js'),
  creds: () => import('./commands/credentials.js'),
};
const adminClient = async (to: AdminTarget | string) => (await load.admin()).adminClient(to);

const DEFAULT_STATE_DIR = './hitless-ca';
const DEFAULT_LISTEN = '127.0.0.1:7468';

const duration = (flag: string) => (v: string) => parseDuration(v, flag);
/** A duration flag whose default --help shows as a duration (10y, 6h), not as milliseconds. */
const durationOption = (flags: string, description: string, defaultMs: number) =>
  new Option(flags, description).argParser(duration(flags.split(' ')[0]!)).default(defaultMs, formatDuration(defaultMs));
const hostPort = (v: string) => (parseHostPort(v), v);
const rate = (flag: string) => (v: string) => parseRate(v, flag);
const positiveInt = (flag: string) => (v: string): number => {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw new HitlessError('INVALID_ARGUMENT', `${flag} takes a whole number >= 1, got "${v.slice(0, 20)}"`);
  return Number(v);
};
const MAX_CSR_WORKERS = 64;
const workerCount = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > MAX_CSR_WORKERS) {
    throw new HitlessError('INVALID_ARGUMENT', `--csr-workers takes a whole number from 0 to ${MAX_CSR_WORKERS}, got "${v}"`, {
      hint: 'omit it for one per core but one; 0 checks CSRs on the main thread',
    });
  }
  return n;
};
const stateDirOption = () => new Option('--state-dir <dir>', 'CA state directory').default(DEFAULT_STATE_DIR);
/**
 * Admin commands reach the CA through its local admin socket (in --state-dir), or with these two through its
 * TLS port from anywhere, authenticated by an operator credential (ca/admin-client.ts).
 */
interface Remote { stateDir: string; ca?: string; operatorDir?: string }
const target = (o: Remote) => ({ stateDir: o.stateDir, ca: o.ca, operatorDir: o.operatorDir });
const remoteOptions = (cmd: Command): Command =>
  cmd
    .option('--ca <host:port>', "a remote CA's TLS port, instead of the local admin socket of --state-dir (needs --operator-dir)")
    .option('--operator-dir <dir>', "with --ca: the operator credential 'ca operator create <name> --out <dir>' wrote (operator.key mode 0600, operator.crt, ca.crt)");
const passphraseOption = () =>
  new Option('--passphrase-file <file>', `file whose first line is the root key passphrase, not readable by group or others (or set ${PASSPHRASE_ENV})`);

// Replicas on etcd (README "High availability"). Shared by init and serve; resolved once in etcdStoreOptions().
const collect = (v: string, prev: string[] = []) => [...prev, v];
const etcdFlags = () => [
  new Option('--etcd <endpoints>', 'keep the cluster in etcd: client endpoints, comma-separated or repeated (host:port or URL); omit for the embedded store').argParser(collect),
  new Option('--etcd-prefix <prefix>', 'key prefix of this cluster in etcd').default('/hitless/'),
  new Option('--etcd-cacert <file>', 'CA certificate (PEM) that verifies the etcd servers; enables TLS to etcd'),
  new Option('--etcd-cert <file>', 'client certificate (PEM) for etcd client-certificate authentication'),
  new Option('--etcd-key <file>', 'key (PEM) of --etcd-cert'),
];
type EtcdFlags = {
  etcd?: string[];
  etcdPrefix: string;
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
};
const etcdConnection = (o: EtcdFlags) =>
  o.etcd ? { endpoints: o.etcd, prefix: o.etcdPrefix, caFile: o.etcdCacert, certFile: o.etcdCert, keyFile: o.etcdKey } : undefined;

/** The `ca` command tree (ca/main.ts runs it; test/integration/cli-help.test.ts walks its --help). */
export const program = new Command('ca')
  .description('hitless certificate authority: short-lived node certificates, rotated without dropping a connection')
  .option('--debug', 'print stack traces on errors')
  .showHelpAfterError(false);

const init = program
  .command('init')
  .description('create a cluster: an encrypted ECDSA P-256 root, a cluster id and join tokens')
  .addOption(stateDirOption())
  .option('--root-subject <dn>', 'subject of the root certificate', ROOT_SUBJECT_DEFAULT)
  .addOption(durationOption('--root-ttl <duration>', 'lifetime of the root certificate', ROOT_TTL_DEFAULT_MS))
  .addOption(
    durationOption(
      '--node-cert-ttl <duration>',
      `lifetime of node certificates (${formatDuration(NODE_CERT_TTL.minMs)}..${formatDuration(NODE_CERT_TTL.maxMs)})`,
      NODE_CERT_TTL.defaultMs,
    ),
  )
  .addOption(durationOption('--backdate <duration>', 'how far notBefore is set in the past, for clock skew', BACKDATE.defaultMs))
  .addOption(passphraseOption())
  .option('--json', 'print the result as JSON (tokens, fingerprint, paths)');
for (const option of etcdFlags()) init.addOption(option);
init
  .addHelpText('after', `\nWithout --passphrase-file or ${PASSPHRASE_ENV}, a passphrase is generated and printed once.\nWith --etcd the cluster (sealed root key, root certificate, config, join secrets) is created in etcd, not in --state-dir.`)
  .action(async (o: EtcdFlags & { stateDir: string; rootSubject: string; rootTtl: number; nodeCertTtl: number; backdate: number; passphraseFile?: string; json?: boolean }) => {
    const passphrase = await readPassphrase({ file: o.passphraseFile, env: process.env[PASSPHRASE_ENV] });
    const { initCluster, formatInitResult } = await load.init();
    const result = await initCluster(
      { stateDir: o.stateDir, rootSubject: o.rootSubject, rootTtlMs: o.rootTtl, nodeCertTtlMs: o.nodeCertTtl, backdateMs: o.backdate, passphrase, etcd: etcdConnection(o) },
      systemClock,
    );
    for (const w of result.warnings) process.stderr.write(`ca: warning: ${w}\n`);
    process.stdout.write(o.json ? JSON.stringify(result, null, 2) + '\n' : formatInitResult(result));
  });

const serve = program
  .command('serve')
  .description('run the CA: node certificate API and admin API on --listen, admin socket in the state dir')
  .addOption(stateDirOption())
  .option('--listen <host:port>', 'address for agents and remote admins (port 0 picks a free port)', DEFAULT_LISTEN)
  .addOption(passphraseOption())
  .option('--max-connection-age <duration>', 'GOAWAY connections after this age; can only shorten the default (node cert TTL / 10, at most 30m)', duration('--max-connection-age'))
  .option('--csr-workers <n>', 'threads that check CSRs next to the main thread (default: one per core but one)', workerCount)
  .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (off by default; e.g. 127.0.0.1:9468)', hostPort)
  .option('--tls-min-version <version>', TLS_MIN_VERSION_HELP, parseTlsMinVersion)
  .option('--join-rate-per-token <n/duration>', `successful joins per join token (default ${formatRate(JOIN_RATE_DEFAULTS.perToken)})`, rate('--join-rate-per-token'))
  .option('--join-rate <n/duration>', `successful joins overall (default ${formatRate(JOIN_RATE_DEFAULTS.overall)})`, rate('--join-rate'))
  .option('--renew-rate <n/duration>', `renewals per node, beyond those the CA asks for (default ${RENEWALS_PER_LIFETIME_DEFAULT} per node certificate lifetime)`, rate('--renew-rate'));
// Resource limits of the CA port (shared/grpc/limits.ts; README "Resource limits").
for (const option of limitOptions(Option, CA_PORT_LIMITS)) serve.addOption(option);
for (const option of etcdFlags()) serve.addOption(option);
serve
  .addOption(
    new Option('--leader-lease <duration>', 'replicas on etcd: lease of the leader (it runs rotation steps and pruning); a dead leader is replaced after this long')
      .argParser(duration('--leader-lease'))
      .default(10_000, '10s'),
  )
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
  .action(async (o: {
    stateDir: string; listen: string; passphraseFile?: string; maxConnectionAge?: number; csrWorkers?: number; metricsListen?: string;
    tlsMinVersion?: TlsMinVersion; logLevel: Level; joinRatePerToken?: Rate; joinRate?: Rate; renewRate?: Rate; leaderLease: number;
  } & EtcdFlags) => {
    if (o.leaderLease < 2_000 || o.leaderLease > 300_000) {
      throw new HitlessError('INVALID_ARGUMENT', `--leader-lease ${formatDuration(o.leaderLease)} is outside 2s..5m`, { hint: 'the default, 10s, suits most fleets' });
    }
    const log = createLogger({ level: o.logLevel, base: { component: 'ca' } });
    const passphrase = await readPassphrase({ file: o.passphraseFile, env: process.env[PASSPHRASE_ENV] });
    // Started before the serving code loads (see `load` above); serveCa takes it if the key is still the same.
    const rootKey = o.etcd || !passphrase ? undefined : await unsealAhead(o.stateDir, passphrase);
    await runDaemon('ca', log, async () => {
      const { serveCa } = await load.serve();
      const ca = await serveCa(
        {
          stateDir: o.stateDir, listen: o.listen, passphrase, maxConnectionAgeMs: o.maxConnectionAge, csrWorkers: o.csrWorkers,
          metricsListen: o.metricsListen, limits: limitOverrides(o), tlsMinVersion: o.tlsMinVersion,
          credentialLimits: { joinsPerToken: o.joinRatePerToken, joinsOverall: o.joinRate, renewalsPerNode: o.renewRate },
          etcd: etcdConnection(o),
          replica: { ttlS: Math.round(o.leaderLease / 1000) },
          rootKey,
        },
        { clock: systemClock, log },
      );
      return () => ca.stop();
    });
  });

function printNodes(nodes: NodeInfo__Output[]): void {
  const rows = [['NODE ID', 'ROLE', 'SERIAL', 'NOT AFTER', 'LAST SEEN']];
  for (const n of nodes) {
    rows.push([n.node_id, n.role.replace('NODE_ROLE_', '').toLowerCase(), n.serial, n.not_after, n.last_seen]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
}

remoteOptions(program.command('nodes'))
  .description('list the nodes of the running CA (over its admin socket, or --ca with an operator credential)')
  .addOption(stateDirOption())
  .option('--json', 'print JSON')
  .action(async (o: Remote & { json?: boolean }) => {
    const client = await adminClient(target(o));
    const { call } = await load.admin();
    const res = await call<ListNodesResponse__Output>((o, cb) => client.ListNodes({}, o, cb));
    if (o.json) process.stdout.write(JSON.stringify(res.nodes, null, 2) + '\n');
    else printNodes(res.nodes);
    client.close();
  });

remoteOptions(program.command('remove-node'))
  .description('remove a node: it can no longer renew, and its live connections are refused')
  .argument('<node-id>', 'the node to remove (see ca nodes)')
  .addOption(stateDirOption())
  .action(async (nodeId: string, o: Remote) => {
    const client = await adminClient(target(o));
    const { call } = await load.admin();
    const res = await call<RemoveNodeResponse__Output>((opts, cb) => client.RemoveNode({ node_id: nodeId }, opts, cb));
    process.stdout.write(`removed node ${res.node?.node_id ?? nodeId}\n`);
    client.close();
  });

const joinToken = remoteOptions(program.command('join-token'))
  .description('print the cluster join token of a role (--rotate replaces it); create/list/revoke manage expiring, use-limited tokens')
  .argument('<role>', 'worker or manager')
  .addOption(stateDirOption())
  .option('--rotate', 'replace the token with a new secret')
  .option('-q, --quiet', 'print only the token')
  .action(async (role: string, o: Remote & { rotate?: boolean; quiet?: boolean }) => {
    if (role !== 'worker' && role !== 'manager') {
      throw new HitlessError('INVALID_ARGUMENT', `unknown role "${role}"`, { hint: 'use worker or manager' });
    }
    const client = await adminClient(target(o));
    const { call } = await load.admin();
    const res = await call<GetJoinTokensResponse__Output>((opts, cb) =>
      client.GetJoinTokens({ rotate_worker: !!o.rotate && role === 'worker', rotate_manager: !!o.rotate && role === 'manager' }, opts, cb),
    );
    const token = role === 'worker' ? res.worker : res.manager;
    if (o.quiet) process.stdout.write(token + '\n');
    else {
      if (o.rotate) process.stdout.write(`Rotated the ${role} join token; the previous one no longer works.\n`);
      process.stdout.write(`To add a ${role} to this cluster, run:\n\n${(await load.creds()).agentInstructions(token)}\n`);
    }
    client.close();
  });

const out = (s: string) => void process.stdout.write(s);
async function withAdmin(to: Remote | string, fn: (client: CaAdminServiceClient, creds: typeof import('./commands/credentials.js')) => Promise<void>): Promise<void> {
  const creds = await load.creds();
  const client = await adminClient(typeof to === 'string' ? to : target(to));
  try {
    await fn(client, creds);
  } finally {
    client.close();
  }
}

// `--state-dir`, `--ca` and `--operator-dir` are join-token's own options: commander hands them to the parent
// wherever they appear.
const joinTokenStateDir = () => joinToken.opts<Remote>();

joinToken
  .command('create')
  .description('create an expiring, use-limited join token (shown once; the CA stores only its hash)')
  .addHelpText('after', '\n--state-dir, or --ca with --operator-dir, go before the subcommand: see ca join-token --help.')
  .argument('<role>', 'worker or manager')
  .addOption(new Option('--ttl <duration>', 'how long it works (at most 30d)').argParser(duration('--ttl')).default(LIMITED_TOKEN.defaultTtlMs, '1h'))
  .option('--uses <n>', 'how many joins it allows', positiveInt('--uses'), LIMITED_TOKEN.defaultUses)
  .option('-q, --quiet', 'print only the token')
  .option('--json', 'print the token and its record as JSON')
  .action((role: string, o: { ttl: number; uses: number; quiet?: boolean; json?: boolean }) =>
    withAdmin(joinTokenStateDir(), (c, creds) => creds.createJoinToken(c, { role, ttlMs: o.ttl, uses: o.uses, quiet: o.quiet, json: o.json }, out)),
  );

joinToken
  .command('list')
  .description('list the limited join tokens: id, role, state, uses left, expiry (never the secrets)')
  .addHelpText('after', '\n--state-dir, or --ca with --operator-dir, go before the subcommand: see ca join-token --help.')
  .option('--json', 'print JSON')
  .action((o: { json?: boolean }) => withAdmin(joinTokenStateDir(), (c, creds) => creds.listJoinTokens(c, o, out)));

joinToken
  .command('revoke')
  .description('revoke a limited join token: it stops working at once')
  .addHelpText('after', '\n--state-dir, or --ca with --operator-dir, go before the subcommand: see ca join-token --help.')
  .argument('<id>', 'the token id (ca join-token list)')
  .action((id: string) => withAdmin(joinTokenStateDir(), (c, creds) => creds.revokeJoinToken(c, id, out)));

const operator = program
  .command('operator')
  .description('operator credentials: client certificates for the admin API on the CA port (node certificates carry no admin rights)');

operator
  .command('create')
  .description('issue an operator credential: writes operator.key (0600), operator.crt and ca.crt into --out')
  .argument('<name>', 'operator name: a-z, 0-9 and -, up to 63 characters')
  .requiredOption('--out <dir>', 'directory for the key and certificates (created 0700)')
  .addOption(stateDirOption())
  .addOption(new Option('--ttl <duration>', 'lifetime (at most 365d, never beyond the root)').argParser(duration('--ttl')).default(OPERATOR_TTL.defaultMs, '30d'))
  .option('--json', 'print the record and file paths as JSON')
  .action((name: string, o: { stateDir: string; out: string; ttl: number; json?: boolean }) =>
    withAdmin(o.stateDir, (c, creds) => creds.createOperator(c, { name, out: o.out, ttlMs: o.ttl, json: o.json }, out)),
  );

operator
  .command('list')
  .description('list operator credentials: name, state, serial, expiry')
  .addOption(stateDirOption())
  .option('--json', 'print JSON')
  .action((o: { stateDir: string; json?: boolean }) => withAdmin(o.stateDir, (c, creds) => creds.listOperators(c, o, out)));

operator
  .command('revoke')
  .description('revoke an operator credential: every later admin call with it is refused')
  .argument('<name>', 'the operator name')
  .addOption(stateDirOption())
  .action((name: string, o: { stateDir: string }) => withAdmin(o.stateDir, (c, creds) => creds.revokeOperator(c, name, out)));

remoteOptions(program.command('rotate-root'))
  .description('move the fleet to a new root (cross-signed by the current one) while traffic flows')
  .addOption(stateDirOption())
  .option('--status', 'show the rotation in progress: phase, progress, nodes that block completion')
  .option('--abort', 'move the fleet back to the current root')
  .option('--force [node-ids...]', 'finish without these nodes (default: every node that blocks now); waits for the finish unless --detach')
  .option('--detach', 'start (or abort) and return at once')
  .option('--cert <file>', 'operator-supplied new root certificate (PEM, self-signed ECDSA P-256 CA)')
  .option('--key <file>', 'its PKCS#8 private key (PEM)')
  .option('--root-subject <dn>', 'subject of the generated root (default: the current one)')
  .option('--json', 'print status as JSON')
  .addHelpText('after', '\nPhases: rotating (bundle {old,new}, CA signs with new + cross-sign) -> converged -> finished (bundle {new}).\nA CA restart mid-rotation resumes it.')
  .action(async (o: RotateOptions & Remote) => {
    const { rotateRoot } = await load.rotateRoot();
    const client = await adminClient(target(o));
    try {
      await rotateRoot(client, o);
    } finally {
      client.close();
    }
  });

const audit = program.command('audit').description('the tamper-evident audit log (<state-dir>/audit.log): admin actions, joins, token changes, root rotation steps');
audit
  .command('verify')
  .description('check the hash chain; exits 1 naming the first edited, removed or reordered line')
  .addOption(stateDirOption())
  .option('--json', 'print the result as JSON')
  .action(async (o: { stateDir: string; json?: boolean }) => (await load.audit()).auditVerify(o, (s) => process.stdout.write(s)));
audit
  .command('show')
  .description('print the audit log (verified as it is read)')
  .addOption(stateDirOption())
  .option('--since <time>', 'only entries at or after an ISO time, or this long ago (1h, 30m)')
  .option('--json', 'one JSON entry per line')
  .action(async (o: { stateDir: string; since?: string; json?: boolean }) => {
    const { auditShow, parseSince } = await load.audit();
    await auditShow({ ...o, since: o.since ? parseSince(o.since, systemClock.now()) : undefined }, (s) => process.stdout.write(s));
  });
