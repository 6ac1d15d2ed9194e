// Original file: hitless/v1/ca_admin.proto


export interface RevokeJoinTokenRequest {
  'id'?: (string);
}

export interface RevokeJoinTokenRequest__Output {
  'id': (string);
}
