// Original file: hitless/v1/node.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatPong {
  'seq'?: (number | string | Long);
  'sent_at_ms'?: (string);
  'caller_serial'?: (string);
  'refresh_requested'?: (boolean);
  'stream_ends_at'?: (string);
}

export interface HeartbeatPong__Output {
  'seq': (string);
  'sent_at_ms': (string);
  'caller_serial': (string);
  'refresh_requested': (boolean);
  'stream_ends_at': (string);
}
