// Attacker-controlled input in errors and logs. A refused request's text must never be echoed whole: a 3 MB
// token field once became a 3 MB log line and a 60 KB gRPC error message. Everything that quotes input
// quotes it through `escapedPrefix`: at most a short prefix, control and non-ASCII characters escaped, and
// the full length stated so the operator still learns how big it was.
export const ECHO_PREFIX_CHARS = 32;

export function escapedPrefix(input: string | Uint8Array, max = ECHO_PREFIX_CHARS): string {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const head = text.slice(0, max);
  let out = '';
  for (const ch of head) {
    const code = ch.codePointAt(0)!;
    out += code >= 0x20 && code < 0x7f && ch !== '\\' && ch !== '"' ? ch : code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  }
  return text.length > max ? `"${out}"… (${text.length} chars)` : `"${out}"`;
}
