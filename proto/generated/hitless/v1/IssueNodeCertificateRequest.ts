// Original file: hitless/v1/node_ca.proto


export interface IssueNodeCertificateRequest {
  'join_token'?: (string);
  'csr_der'?: (Buffer | Uint8Array | string);
}

export interface IssueNodeCertificateRequest__Output {
  'join_token': (string);
  'csr_der': (Buffer);
}
