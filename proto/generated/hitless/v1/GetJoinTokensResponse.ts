// Original file: hitless/v1/ca_admin.proto


export interface GetJoinTokensResponse {
  'worker'?: (string);
  'manager'?: (string);
  'root_digest'?: (string);
}

export interface GetJoinTokensResponse__Output {
  'worker': (string);
  'manager': (string);
  'root_digest': (string);
}
