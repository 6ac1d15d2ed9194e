// Original file: hitless/v1/ca_admin.proto

import type { TrustBundle as _hitless_v1_TrustBundle, TrustBundle__Output as _hitless_v1_TrustBundle__Output } from '../../hitless/v1/TrustBundle.js';

export interface GetClusterInfoResponse {
  'cluster_id'?: (string);
  'bundle'?: (_hitless_v1_TrustBundle | null);
  'node_cert_ttl'?: (string);
  'node_count'?: (number);
}

export interface GetClusterInfoResponse__Output {
  'cluster_id': (string);
  'bundle': (_hitless_v1_TrustBundle__Output | null);
  'node_cert_ttl': (string);
  'node_count': (number);
}
