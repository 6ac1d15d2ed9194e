// Names every party agrees on. Node certificates: CN=<node id>, OU=<role>, O=<cluster id>, DNS SAN <node id>.
// The CA's server certificate alone carries the DNS SAN `hitless-ca` (and OU=ca), and clients dial the CA by
// that name, so no node certificate of the cluster can pose as the CA.
export const CA_SERVER_NAME = 'hitless-ca';
export const CA_SERVER_OU = 'ca';
/**
 * Operator credentials (ca operator create) carry OU=operator, CN=<operator name> and the SAN URI
 * spiffe://<cluster id>/operator/<name>: they open the CA's admin API and nothing else (no node call, no peer).
 */
export const OPERATOR_OU = 'operator';
