// Original file: hitless/v1/ca_admin.proto


export interface BlockingNode {
  'node_id'?: (string);
  'reason'?: (string);
  'last_seen'?: (string);
  'connected'?: (boolean);
}

export interface BlockingNode__Output {
  'node_id': (string);
  'reason': (string);
  'last_seen': (string);
  'connected': (boolean);
}
