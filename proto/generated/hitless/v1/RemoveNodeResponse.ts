// Original file: hitless/v1/ca_admin.proto

import type { NodeInfo as _hitless_v1_NodeInfo, NodeInfo__Output as _hitless_v1_NodeInfo__Output } from '../../hitless/v1/NodeInfo.js';

export interface RemoveNodeResponse {
  'node'?: (_hitless_v1_NodeInfo | null);
}

export interface RemoveNodeResponse__Output {
  'node': (_hitless_v1_NodeInfo__Output | null);
}
