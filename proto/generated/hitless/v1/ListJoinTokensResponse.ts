// Original file: hitless/v1/ca_admin.proto

import type { JoinTokenInfo as _hitless_v1_JoinTokenInfo, JoinTokenInfo__Output as _hitless_v1_JoinTokenInfo__Output } from '../../hitless/v1/JoinTokenInfo.js';

export interface ListJoinTokensResponse {
  'tokens'?: (_hitless_v1_JoinTokenInfo)[];
}

export interface ListJoinTokensResponse__Output {
  'tokens': (_hitless_v1_JoinTokenInfo__Output)[];
}
