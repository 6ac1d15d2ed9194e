// Clock skew between this node and the CA, measured from the CA's own issued_at against our clock when the
// certificate arrived (one network delay included: milliseconds, not minutes). Positive: our clock is ahead.
// The renewal schedule is computed on the certificate's lifetime shifted into our clock, so that a node whose
// clock runs minutes off still renews inside 50-80 % of the certificate's real lifetime, and does not think
// a fresh certificate half spent (ahead) or renew late (behind).
import type { StoredIdentity } from './identity-store.js';
import type { Lifetime } from './renewal-schedule.js';

export function clockSkewMs(id: Pick<StoredIdentity, 'issuedAt' | 'receivedAt'>): number | undefined {
  if (!id.receivedAt) return undefined;
  const skew = Date.parse(id.receivedAt) - Date.parse(id.issuedAt);
  return Number.isFinite(skew) ? skew : undefined;
}

/** The certificate's lifetime on our clock. */
export function localLifetime(id: Pick<StoredIdentity, 'issuedAt' | 'notAfter' | 'receivedAt'>): Lifetime {
  const skew = clockSkewMs(id) ?? 0;
  return { issuedAt: new Date(Date.parse(id.issuedAt) + skew), notAfter: new Date(Date.parse(id.notAfter) + skew) };
}
