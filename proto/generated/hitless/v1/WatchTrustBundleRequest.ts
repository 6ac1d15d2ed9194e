// Original file: hitless/v1/node_ca.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchTrustBundleRequest {
  'known_version'?: (number | string | Long);
}

export interface WatchTrustBundleRequest__Output {
  'known_version': (string);
}
