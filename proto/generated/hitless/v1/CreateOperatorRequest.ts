// Original file: hitless/v1/ca_admin.proto


export interface CreateOperatorRequest {
  'name'?: (string);
  'csr_der'?: (Buffer | Uint8Array | string);
  'ttl_seconds'?: (number);
}

export interface CreateOperatorRequest__Output {
  'name': (string);
  'csr_der': (Buffer);
  'ttl_seconds': (number);
}
