// Original file: hitless/v1/ca_admin.proto

import type { NodeRole as _hitless_v1_NodeRole, NodeRole__Output as _hitless_v1_NodeRole__Output } from '../../hitless/v1/NodeRole.js';

export interface NodeInfo {
  'node_id'?: (string);
  'role'?: (_hitless_v1_NodeRole);
  'serial'?: (string);
  'not_after'?: (string);
  'last_seen'?: (string);
  'joined_at'?: (string);
  'issuer_root'?: (string);
}

export interface NodeInfo__Output {
  'node_id': (string);
  'role': (_hitless_v1_NodeRole__Output);
  'serial': (string);
  'not_after': (string);
  'last_seen': (string);
  'joined_at': (string);
  'issuer_root': (string);
}
