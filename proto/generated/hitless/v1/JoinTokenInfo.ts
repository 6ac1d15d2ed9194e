// Original file: hitless/v1/ca_admin.proto

import type { NodeRole as _hitless_v1_NodeRole, NodeRole__Output as _hitless_v1_NodeRole__Output } from '../../hitless/v1/NodeRole.js';

export interface JoinTokenInfo {
  'id'?: (string);
  'role'?: (_hitless_v1_NodeRole);
  'created_at'?: (string);
  'expires_at'?: (string);
  'max_uses'?: (number);
  'uses_left'?: (number);
  'last_used_at'?: (string);
  'revoked_at'?: (string);
  'state'?: (string);
}

export interface JoinTokenInfo__Output {
  'id': (string);
  'role': (_hitless_v1_NodeRole__Output);
  'created_at': (string);
  'expires_at': (string);
  'max_uses': (number);
  'uses_left': (number);
  'last_used_at': (string);
  'revoked_at': (string);
  'state': (string);
}
