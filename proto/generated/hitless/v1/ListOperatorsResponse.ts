// Original file: hitless/v1/ca_admin.proto

import type { OperatorInfo as _hitless_v1_OperatorInfo, OperatorInfo__Output as _hitless_v1_OperatorInfo__Output } from '../../hitless/v1/OperatorInfo.js';

export interface ListOperatorsResponse {
  'operators'?: (_hitless_v1_OperatorInfo)[];
}

export interface ListOperatorsResponse__Output {
  'operators': (_hitless_v1_OperatorInfo__Output)[];
}
