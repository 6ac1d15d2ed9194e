// Original file: hitless/v1/ca_admin.proto


export interface OperatorInfo {
  'name'?: (string);
  'serial'?: (string);
  'created_at'?: (string);
  'not_after'?: (string);
  'revoked_at'?: (string);
  'issuer_root'?: (string);
}

export interface OperatorInfo__Output {
  'name': (string);
  'serial': (string);
  'created_at': (string);
  'not_after': (string);
  'revoked_at': (string);
  'issuer_root': (string);
}
