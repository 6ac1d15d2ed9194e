// Original file: hitless/v1/node_ca.proto

import type { Long } from '@grpc/proto-loader';

export interface TrustBundle {
  'roots_pem'?: (string)[];
  'cross_signed_pem'?: (string)[];
  'version'?: (number | string | Long);
}

export interface TrustBundle__Output {
  'roots_pem': (string)[];
  'cross_signed_pem': (string)[];
  'version': (string);
}
