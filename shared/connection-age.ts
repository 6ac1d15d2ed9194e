/**
 * How long a server keeps a connection before a graceful GOAWAY. Connections must not outlive the certificate
 * they were authenticated with, so: a quarter of the certificate lifetime, at least 1 s, at most 30 minutes.
 * Streams already open on the connection are left to finish (no max_connection_age_grace), which is what
 * keeps long-lived streams alive across rotations; new calls go to a new connection with the new certificate.
 */
export function maxConnectionAgeMs(certLifetimeMs: number): number {
  return Math.max(1000, Math.min(30 * 60_000, Math.floor(certLifetimeMs / 4)));
}
