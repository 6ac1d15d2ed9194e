// The fuzzer's oracles for one reply and for the CA's state, as pure functions (test/security/fuzz.test.ts
// plants bad replies and states to prove each one fires).
import { status } from '@grpc/grpc-js';
import { STATUS_NAMES, type CaseResult } from './cases.js';

export const MAX_MESSAGE_CHARS = 512;
export const MAX_LOG_LINE_CHARS = 4096;

/**
 * Codes a refusal may carry. INTERNAL only in grpc-js's own words for a request it could not decode or whose
 * headers it could not read (our handlers' INTERNAL, "internal error (ref …)", is an unexpected exception).
 */
export const EXPECTED_CODES = new Set<number>([
  status.INVALID_ARGUMENT,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.RESOURCE_EXHAUSTED,
  status.UNIMPLEMENTED,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  // A valid CSR whose key already backs a live node (the fuzzer's few keys are reused on purpose).
  status.ALREADY_EXISTS,
]);
export const FRAMEWORK_INTERNAL = /^(Invalid grpc-timeout value|Error deserializing request|Failed to decompress message)/;

export interface OracleContext {
  validTokens: ReadonlySet<string>;
  /** SPKI DER of every key the fuzzer holds (an issued certificate must be for one of them). */
  keySpkis: readonly Buffer[];
}

export interface Verdict {
  problems: string[];
  /** An accepted join or renewal: what the CA's records must now say. */
  accepted?: { type: 'join' | 'renew'; nodeId: string; serial: string; keyIndex: number; chainPem: string[] };
}

function pathOf(r: CaseResult): 'issue' | 'renew' | 'admin' | 'other' {
  if (['csr/join', 'token', 'grpc/framing', 'protobuf/IssueNodeCertificate', 'h2/frames'].includes(r.kind)) return 'issue';
  if (r.kind === 'csr/renew' || r.kind === 'protobuf/RenewNodeCertificate') return 'renew';
  return r.kind.startsWith('protobuf/admin.') ? 'admin' : 'other';
}

export function judgeReply(r: CaseResult, ctx: OracleContext): Verdict {
  const problems: string[] = [];
  if (r.kind === 'harness') return { problems: [`the fuzzer itself failed: ${r.message ?? ''}`] };
  if (r.kind === 'h2/frames' && r.code !== status.OK) {
    if (!/^(goaway:|rst:|response$|closed$|silent$)/.test(r.outcome)) problems.push('no protocol-level answer');
    return { problems };
  }
  if (r.code === undefined) {
    // Damaged request headers may get an HTTP-level refusal (415 for a foreign content-type) instead of gRPC.
    const headerCase = r.kind === 'grpc/framing' && r.how.startsWith('header-');
    if (!(headerCase && /^(http:4\d\d|rst:)/.test(r.outcome))) problems.push('no gRPC status');
    return { problems };
  }
  if (r.code === status.OK) {
    const path = pathOf(r);
    if (path === 'admin') return { problems: ['admin call over TCP succeeded'] };
    if (path === 'other') return { problems };
    if (!r.issued) return { problems: ['OK without a certificate'] };
    const keyIndex = ctx.keySpkis.findIndex((k) => k.equals(r.issued!.leafSpki));
    if (keyIndex < 0) return { problems: ['certificate issued for a key the fuzzer does not hold'] };
    // The CA trims whitespace around a token; anything else accepted is a finding.
    if (path === 'issue' && !(r.token !== undefined && ctx.validTokens.has(r.token.trim()))) {
      return { problems: [`join accepted with an invalid token (${JSON.stringify(r.token?.slice(0, 40))})`] };
    }
    return { problems, accepted: { type: path === 'issue' ? 'join' : 'renew', nodeId: r.issued.nodeId, serial: r.issued.serial, keyIndex, chainPem: r.issued.chainPem } };
  }
  const message = r.message ?? '';
  if (!EXPECTED_CODES.has(r.code)) problems.push(`unexpected status ${STATUS_NAMES[r.code] ?? r.code}`);
  else if (r.code === status.INTERNAL && !FRAMEWORK_INTERNAL.test(message)) problems.push('INTERNAL from the CA (unexpected exception)');
  if (!message.trim()) problems.push('empty status message');
  if (message.length > MAX_MESSAGE_CHARS) problems.push(`status message of ${message.length} chars (> ${MAX_MESSAGE_CHARS})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(message)) problems.push('status message carries control characters (unescaped input)');
  return { problems };
}

/**
 * A valid join inside damaged framing that got no answer the handler could have prevented: a deadline already
 * past, a cancelled or reset stream. The CA may have issued for it (the lost-response case).
 */
export function mayHaveIssued(r: CaseResult): boolean {
  return !!r.mayIssue && /^(grpc:DEADLINE_EXCEEDED|grpc:CANCELLED|no-status|closed|rst:)/.test(r.outcome);
}

/** Differences between the accepted answers and the CA's records; `allowedUnanswered` new nodes may be unattributed. */
export function stateDiff(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>, allowedUnanswered: number): string | undefined {
  const problems: string[] = [];
  const unattributed = [...actual.keys()].filter((id) => !expected.has(id));
  if (unattributed.length > allowedUnanswered) {
    problems.push(`${unattributed.length} node(s) appeared without an accepted answer, only ${allowedUnanswered} valid request(s) went unanswered: ${unattributed.slice(0, 3).join(', ')}`);
  }
  for (const [id, serial] of actual) {
    if (expected.has(id) && expected.get(id) !== serial) problems.push(`node ${id} has serial ${serial}, the accepted answers say ${expected.get(id)}`);
  }
  for (const id of expected.keys()) if (!actual.has(id)) problems.push(`node ${id} vanished`);
  return problems.length ? problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; … ${problems.length} in all` : '') : undefined;
}
