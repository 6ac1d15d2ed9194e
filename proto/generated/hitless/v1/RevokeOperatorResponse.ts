// Original file: hitless/v1/ca_admin.proto

import type { OperatorInfo as _hitless_v1_OperatorInfo, OperatorInfo__Output as _hitless_v1_OperatorInfo__Output } from '../../hitless/v1/OperatorInfo.js';

export interface RevokeOperatorResponse {
  'operator'?: (_hitless_v1_OperatorInfo | null);
}

export interface RevokeOperatorResponse__Output {
  'operator': (_hitless_v1_OperatorInfo__Output | null);
}
