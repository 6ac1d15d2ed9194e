// Original file: hitless/v1/ca_admin.proto


export interface StartRootRotationRequest {
  'root_cert_pem'?: (string);
  'root_key_pem'?: (string);
  'root_subject'?: (string);
}

export interface StartRootRotationRequest__Output {
  'root_cert_pem': (string);
  'root_key_pem': (string);
  'root_subject': (string);
}
