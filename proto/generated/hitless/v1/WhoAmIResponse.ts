// Original file: hitless/v1/node.proto

import type { NodeRole as _hitless_v1_NodeRole, NodeRole__Output as _hitless_v1_NodeRole__Output } from '../../hitless/v1/NodeRole.js';

export interface WhoAmIResponse {
  'node_id'?: (string);
  'role'?: (_hitless_v1_NodeRole);
  'serial'?: (string);
  'cluster_id'?: (string);
}

export interface WhoAmIResponse__Output {
  'node_id': (string);
  'role': (_hitless_v1_NodeRole__Output);
  'serial': (string);
  'cluster_id': (string);
}
