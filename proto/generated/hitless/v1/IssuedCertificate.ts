// Original file: hitless/v1/node_ca.proto

import type { NodeRole as _hitless_v1_NodeRole, NodeRole__Output as _hitless_v1_NodeRole__Output } from '../../hitless/v1/NodeRole.js';
import type { TrustBundle as _hitless_v1_TrustBundle, TrustBundle__Output as _hitless_v1_TrustBundle__Output } from '../../hitless/v1/TrustBundle.js';

export interface IssuedCertificate {
  'node_id'?: (string);
  'role'?: (_hitless_v1_NodeRole);
  'chain_pem'?: (string)[];
  'bundle'?: (_hitless_v1_TrustBundle | null);
  'cluster_id'?: (string);
  'serial'?: (string);
  'issued_at'?: (string);
  'not_after'?: (string);
}

export interface IssuedCertificate__Output {
  'node_id': (string);
  'role': (_hitless_v1_NodeRole__Output);
  'chain_pem': (string)[];
  'bundle': (_hitless_v1_TrustBundle__Output | null);
  'cluster_id': (string);
  'serial': (string);
  'issued_at': (string);
  'not_after': (string);
}
