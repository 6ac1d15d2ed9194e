// Original file: hitless/v1/ca_admin.proto

import type { BlockingNode as _hitless_v1_BlockingNode, BlockingNode__Output as _hitless_v1_BlockingNode__Output } from '../../hitless/v1/BlockingNode.js';
import type { WaitingNode as _hitless_v1_WaitingNode, WaitingNode__Output as _hitless_v1_WaitingNode__Output } from '../../hitless/v1/WaitingNode.js';

export interface RootRotationStatus {
  'phase'?: (string);
  'rotation_id'?: (string);
  'started_at'?: (string);
  'from_root_fingerprint'?: (string);
  'to_root_fingerprint'?: (string);
  'nodes_total'?: (number);
  'nodes_reissued'?: (number);
  'bundles_acknowledged'?: (number);
  'blocking'?: (_hitless_v1_BlockingNode)[];
  'excluded'?: (string)[];
  'converged_at'?: (string);
  'finishes_at'?: (string);
  'last_finished_at'?: (string);
  'worker_token'?: (string);
  'manager_token'?: (string);
  'current_root_fingerprint'?: (string);
  'waiting_for'?: (_hitless_v1_WaitingNode)[];
}

export interface RootRotationStatus__Output {
  'phase': (string);
  'rotation_id': (string);
  'started_at': (string);
  'from_root_fingerprint': (string);
  'to_root_fingerprint': (string);
  'nodes_total': (number);
  'nodes_reissued': (number);
  'bundles_acknowledged': (number);
  'blocking': (_hitless_v1_BlockingNode__Output)[];
  'excluded': (string)[];
  'converged_at': (string);
  'finishes_at': (string);
  'last_finished_at': (string);
  'worker_token': (string);
  'manager_token': (string);
  'current_root_fingerprint': (string);
  'waiting_for': (_hitless_v1_WaitingNode__Output)[];
}
