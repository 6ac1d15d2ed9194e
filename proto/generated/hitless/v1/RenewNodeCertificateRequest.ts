// Original file: hitless/v1/node_ca.proto

import type { Long } from '@grpc/proto-loader';

export interface RenewNodeCertificateRequest {
  'csr_der'?: (Buffer | Uint8Array | string);
  'bundle_version'?: (number | string | Long);
}

export interface RenewNodeCertificateRequest__Output {
  'csr_der': (Buffer);
  'bundle_version': (string);
}
