// Original file: hitless/v1/ca_admin.proto


export interface WaitingNode {
  'node_id'?: (string);
  'reason'?: (string);
  'connected'?: (boolean);
}

export interface WaitingNode__Output {
  'node_id': (string);
  'reason': (string);
  'connected': (boolean);
}
