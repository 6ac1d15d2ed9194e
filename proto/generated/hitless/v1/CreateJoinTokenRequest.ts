// Original file: hitless/v1/ca_admin.proto

import type { NodeRole as _hitless_v1_NodeRole, NodeRole__Output as _hitless_v1_NodeRole__Output } from '../../hitless/v1/NodeRole.js';

export interface CreateJoinTokenRequest {
  'role'?: (_hitless_v1_NodeRole);
  'ttl_seconds'?: (number);
  'max_uses'?: (number);
}

export interface CreateJoinTokenRequest__Output {
  'role': (_hitless_v1_NodeRole__Output);
  'ttl_seconds': (number);
  'max_uses': (number);
}
