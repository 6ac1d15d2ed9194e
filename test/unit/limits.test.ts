// Proves the port limits resolve in one place: defaults per port, flags parsed by the same table for `ca serve`
// and `agent run`, bad values refused with INVALID_ARGUMENT, and grpc-js options derived from the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Option } from 'commander';
import { HitlessError } from '../../shared/errors.js';
import { CA_PORT_LIMITS, NODE_PORT_LIMITS, LIMIT_FLAGS, grpcServerOptions, limitOptions, limitOverrides, resolveLimits } from '../../shared/grpc/limits.js';
import { parseTlsMinVersion } from '../../shared/grpc/tls-policy.js';

function parse(args: string[], defaults = CA_PORT_LIMITS): Record<string, unknown> {
  const cmd = new Command('serve').exitOverride();
  for (const o of limitOptions(Option, defaults)) cmd.addOption(o);
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

const invalidArgument = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof HitlessError && err.code === 'INVALID_ARGUMENT' && message.test(err.message));

test('no flags: the port defaults, unchanged', () => {
  assert.deepEqual(resolveLimits(CA_PORT_LIMITS, limitOverrides(parse([]))), CA_PORT_LIMITS);
  assert.deepEqual(resolveLimits(NODE_PORT_LIMITS), NODE_PORT_LIMITS);
  // A few KiB above the largest legitimate request, not grpc-js's 4 MiB.
  assert.ok(CA_PORT_LIMITS.maxMessageBytes <= 64 * 1024);
  assert.ok(NODE_PORT_LIMITS.maxMessageBytes <= 64 * 1024);
});

test('every flag overrides its field, with units', () => {
  const limits = resolveLimits(
    CA_PORT_LIMITS,
    limitOverrides(
      parse([
        '--max-message-size', '8KiB', '--max-streams-per-connection', '3', '--max-connections', '500',
        '--max-connections-per-source', '7', '--request-timeout', '1500ms', '--unauthenticated-timeout', '1m',
      ]),
    ),
  );
  assert.deepEqual(limits, {
    ...CA_PORT_LIMITS,
    maxMessageBytes: 8192,
    maxStreamsPerConnection: 3,
    maxConnections: 500,
    maxConnectionsPerSource: 7,
    requestTimeoutMs: 1500,
    unauthenticatedTimeoutMs: 60_000,
  });
  assert.equal(LIMIT_FLAGS.length, 6);
});

test('help shows each default of the port it belongs to', () => {
  const help = (defaults: typeof CA_PORT_LIMITS) => {
    const cmd = new Command('x');
    for (const o of limitOptions(Option, defaults)) cmd.addOption(o);
    return cmd.helpInformation().replace(/\s+/g, ' ');
  };
  assert.match(help(CA_PORT_LIMITS), /--max-message-size <size> .*\(default: 16KiB\)/);
  assert.match(help(CA_PORT_LIMITS), /--unauthenticated-timeout <duration> .*\(default: 10s\)/);
  assert.match(help(NODE_PORT_LIMITS), /--max-message-size <size> .*\(default: 4KiB\)/);
});

test('bad values are usage errors that name the flag', () => {
  assert.throws(() => parse(['--max-message-size', '12 parsecs']), /--max-message-size "12 parsecs" is not a size/);
  assert.throws(() => parse(['--max-connections', '-1']), /--max-connections takes a whole number/);
  assert.throws(() => parse(['--request-timeout', 'soon']), /is not a duration/);
  invalidArgument(() => resolveLimits(CA_PORT_LIMITS, { maxConnections: 0 }), /--max-connections must be at least 1, got 0/);
  invalidArgument(() => resolveLimits(CA_PORT_LIMITS, { maxConnections: 10, maxConnectionsPerSource: 11 }), /exceeds --max-connections/);
});

test('grpc-js options: message size as given, HTTP/2 advertises one stream above the enforced limit', () => {
  const o = grpcServerOptions(resolveLimits(NODE_PORT_LIMITS));
  assert.equal(o['grpc.max_receive_message_length'], 4096);
  assert.equal(o['grpc.max_concurrent_streams'], NODE_PORT_LIMITS.maxStreamsPerConnection + 1);
  assert.equal(o['grpc.keepalive_time_ms'], NODE_PORT_LIMITS.keepaliveTimeMs);
});

test('--tls-min-version takes 1.3 or 1.2 only, and quotes at most a short prefix of anything else', () => {
  assert.equal(parseTlsMinVersion('1.3'), '1.3');
  assert.equal(parseTlsMinVersion('1.2'), '1.2');
  for (const bad of ['1.1', 'TLSv1.3', '1.0'.repeat(1000)]) {
    invalidArgument(() => parseTlsMinVersion(bad), /--tls-min-version takes 1.3 or 1.2/);
  }
  assert.throws(() => parseTlsMinVersion('x'.repeat(5000)), (err: Error) => err.message.length < 100);
});

test('the message bound is a few KiB above the largest legitimate request, measured from real requests', async (t) => {
  const { protos } = await import('../../proto/load.js');
  const { generateKeyPairPem } = await import('../../shared/pki/keys.js');
  const { createCsrDer } = await import('../../shared/pki/csr.js');
  const { run } = await import('../helpers/proc.js');
  const { tmpDir } = await import('../helpers/tmp.js');
  const ca = protos().nodeCa.hitless.v1.NodeCaService.service;
  const admin = protos().caAdmin.hitless.v1.CaAdminService.service;
  const node = protos().node.hitless.v1.NodeService.service;
  const csr = Buffer.from(await createCsrDer(generateKeyPairPem().privateKeyPem));
  const token = `HTLS-1-${'z'.repeat(50)}-${'z'.repeat(25)}`;

  // An operator's root made with the openssl CLI, long subject, with openssl's text dump in front of the PEM
  // (what `openssl x509 -text` writes): the largest remote-admin request we expect.
  const dir = await tmpDir();
  try {
    const subject = '/C=DE/ST=Some State/L=Some City/O=Example Operations GmbH/OU=Platform Security/CN=hitless cluster root 2027';
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', `${dir.path}/k.pem`, '-out', `${dir.path}/c.pem`]);
    assert.equal(made.code, 0, made.stderr);
    const text = await run('openssl', ['x509', '-in', `${dir.path}/c.pem`, '-text']);
    const key = await run('openssl', ['pkey', '-in', `${dir.path}/k.pem`]);
    const sizes = {
      IssueNodeCertificate: ca.IssueNodeCertificate.requestSerialize({ join_token: token, csr_der: csr }).length,
      RenewNodeCertificate: ca.RenewNodeCertificate.requestSerialize({ csr_der: csr, bundle_version: '18446744073709551615' }).length,
      WatchTrustBundle: ca.WatchTrustBundle.requestSerialize({ known_version: '18446744073709551615' }).length,
      ReportLiveCredentials: ca.ReportLiveCredentials.requestSerialize({
        bundle_version: '18446744073709551615',
        issuer_root_fingerprints: Array.from({ length: 16 }, (_, i) => i.toString(16).repeat(64)),
      }).length,
      StartRootRotation: admin.StartRootRotation.requestSerialize({ root_cert_pem: text.stdout, root_key_pem: key.stdout, root_subject: subject }).length,
      Heartbeat: node.Heartbeat.requestSerialize({ seq: '18446744073709551615', sent_at_ms: '18446744073709551615' }).length,
    };
    t.diagnostic(`request sizes (bytes): ${JSON.stringify(sizes)}`);
    const caLargest = Math.max(sizes.IssueNodeCertificate, sizes.RenewNodeCertificate, sizes.WatchTrustBundle, sizes.ReportLiveCredentials, sizes.StartRootRotation);
    const headroom = CA_PORT_LIMITS.maxMessageBytes - caLargest;
    assert.ok(headroom >= 4096 && headroom <= 16 * 1024, `CA port: largest request ${caLargest} B, limit ${CA_PORT_LIMITS.maxMessageBytes} B`);
    const nodeHeadroom = NODE_PORT_LIMITS.maxMessageBytes - sizes.Heartbeat;
    assert.ok(nodeHeadroom >= 2048 && nodeHeadroom <= 8 * 1024, `node port: largest request ${sizes.Heartbeat} B, limit ${NODE_PORT_LIMITS.maxMessageBytes} B`);
  } finally {
    await dir.cleanup();
  }
});

test('per-source bounds count an IPv4 address, or the /64 of an IPv6 address', async () => {
  const { sourceOf } = await import('../../shared/grpc/connection-guard.js');
  assert.equal(sourceOf('127.0.0.2'), '127.0.0.2');
  assert.equal(sourceOf('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(sourceOf('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(sourceOf('2001:0db8::5'), '2001:db8:0:0::/64');
  assert.equal(sourceOf('::1'), '0:0:0:0::/64');
  assert.equal(sourceOf('fe80::1:2:3:4'), 'fe80:0:0:0::/64');
});
