// Original file: hitless/v1/ca_admin.proto


export interface RevokeOperatorRequest {
  'name'?: (string);
}

export interface RevokeOperatorRequest__Output {
  'name': (string);
}
