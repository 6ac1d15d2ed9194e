// Original file: hitless/v1/ca_admin.proto


export interface GetJoinTokensRequest {
  'rotate_worker'?: (boolean);
  'rotate_manager'?: (boolean);
}

export interface GetJoinTokensRequest__Output {
  'rotate_worker': (boolean);
  'rotate_manager': (boolean);
}
