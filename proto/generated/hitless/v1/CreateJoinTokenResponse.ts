// Original file: hitless/v1/ca_admin.proto

import type { JoinTokenInfo as _hitless_v1_JoinTokenInfo, JoinTokenInfo__Output as _hitless_v1_JoinTokenInfo__Output } from '../../hitless/v1/JoinTokenInfo.js';

export interface CreateJoinTokenResponse {
  'token'?: (string);
  'info'?: (_hitless_v1_JoinTokenInfo | null);
}

export interface CreateJoinTokenResponse__Output {
  'token': (string);
  'info': (_hitless_v1_JoinTokenInfo__Output | null);
}
