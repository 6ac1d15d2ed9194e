// Original file: hitless/v1/node_ca.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportLiveCredentialsRequest {
  'bundle_version'?: (number | string | Long);
  'issuer_root_fingerprints'?: (string)[];
}

export interface ReportLiveCredentialsRequest__Output {
  'bundle_version': (string);
  'issuer_root_fingerprints': (string)[];
}
