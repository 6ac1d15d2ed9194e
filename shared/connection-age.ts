/**
 * How long a server keeps a connection open to *new calls* before a graceful GOAWAY: a quarter of the
 * certificate lifetime, at least 1 s, at most 30 minutes, so no new call rides a handshake made with a
 * certificate that has since been replaced. Streams already open on the connection are left to finish (no
 * max_connection_age_grace): that is what keeps long-lived streams alive across rotations, and it means such a
 * stream keeps the connection — and the handshake it was authorized by — for as long as it lives. Those streams
 * are re-checked against node membership instead (removal ends them); see the README.
 */
export function maxConnectionAgeMs(certLifetimeMs: number): number {
  return Math.max(1000, Math.min(30 * 60_000, Math.floor(certLifetimeMs / 4)));
}
