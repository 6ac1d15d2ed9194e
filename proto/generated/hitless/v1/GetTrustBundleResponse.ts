// Original file: hitless/v1/node_ca.proto

import type { TrustBundle as _hitless_v1_TrustBundle, TrustBundle__Output as _hitless_v1_TrustBundle__Output } from '../../hitless/v1/TrustBundle.js';

export interface GetTrustBundleResponse {
  'bundle'?: (_hitless_v1_TrustBundle | null);
  'cluster_id'?: (string);
}

export interface GetTrustBundleResponse__Output {
  'bundle': (_hitless_v1_TrustBundle__Output | null);
  'cluster_id': (string);
}
