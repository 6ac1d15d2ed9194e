// Original file: hitless/v1/node_ca.proto

import type { TrustBundle as _hitless_v1_TrustBundle, TrustBundle__Output as _hitless_v1_TrustBundle__Output } from '../../hitless/v1/TrustBundle.js';

export interface WatchTrustBundleEvent {
  'bundle'?: (_hitless_v1_TrustBundle | null);
  'renew_requested'?: (boolean);
  'removed_node_ids'?: (string)[];
  'refresh_requested'?: (boolean);
  'stream_ends_at'?: (string);
}

export interface WatchTrustBundleEvent__Output {
  'bundle': (_hitless_v1_TrustBundle__Output | null);
  'renew_requested': (boolean);
  'removed_node_ids': (string)[];
  'refresh_requested': (boolean);
  'stream_ends_at': (string);
}
