// Original file: hitless/v1/node.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatPing {
  'seq'?: (number | string | Long);
  'sent_at_ms'?: (string);
}

export interface HeartbeatPing__Output {
  'seq': (string);
  'sent_at_ms': (string);
}
