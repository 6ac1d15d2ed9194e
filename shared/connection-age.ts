/** Fraction of the certificate lifetime: see maxConnectionAgeMs. */
export const CONNECTION_AGE_FRACTION = 0.1;

/**
 * How long a server keeps a connection open to *new calls* before a graceful GOAWAY: a tenth of the
 * certificate lifetime, at least 1 s, at most 30 minutes, so no new call rides a handshake made with a
 * certificate that has since been replaced — or has expired. Nodes renew with at least 20 % of their lifetime
 * left (agent/renewal-schedule.ts), so a connection made just before a renewal must be gone within that 20 %:
 * with a quarter (what we had) it could outlive its certificate by 5 % of the lifetime, and a call on it was
 * refused as "certificate expired" (seen in CI). A tenth leaves half the margin for grpc-js's ±10 % age jitter
 * and the reconnect; test/unit/config.test.ts checks the relation. Streams already open on the connection are left to finish (no
 * max_connection_age_grace): that is what keeps long-lived streams alive across rotations, and it means such a
 * stream keeps the connection — and the handshake it was authorized by — for as long as it lives. Those streams
 * are re-checked against node membership instead (removal ends them); see the README.
 */
export function maxConnectionAgeMs(certLifetimeMs: number): number {
  return Math.max(1000, Math.min(30 * 60_000, Math.floor(certLifetimeMs * CONNECTION_AGE_FRACTION)));
}
