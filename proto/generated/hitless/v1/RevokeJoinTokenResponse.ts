// Original file: hitless/v1/ca_admin.proto

import type { JoinTokenInfo as _hitless_v1_JoinTokenInfo, JoinTokenInfo__Output as _hitless_v1_JoinTokenInfo__Output } from '../../hitless/v1/JoinTokenInfo.js';

export interface RevokeJoinTokenResponse {
  'info'?: (_hitless_v1_JoinTokenInfo | null);
}

export interface RevokeJoinTokenResponse__Output {
  'info': (_hitless_v1_JoinTokenInfo__Output | null);
}
