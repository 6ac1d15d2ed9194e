// Original file: hitless/v1/ca_admin.proto

import type { OperatorInfo as _hitless_v1_OperatorInfo, OperatorInfo__Output as _hitless_v1_OperatorInfo__Output } from '../../hitless/v1/OperatorInfo.js';

export interface CreateOperatorResponse {
  'operator'?: (_hitless_v1_OperatorInfo | null);
  'chain_pem'?: (string)[];
  'roots_pem'?: (string)[];
}

export interface CreateOperatorResponse__Output {
  'operator': (_hitless_v1_OperatorInfo__Output | null);
  'chain_pem': (string)[];
  'roots_pem': (string)[];
}
