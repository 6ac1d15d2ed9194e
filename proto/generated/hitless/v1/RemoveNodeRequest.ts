// Original file: hitless/v1/ca_admin.proto


export interface RemoveNodeRequest {
  'node_id'?: (string);
}

export interface RemoveNodeRequest__Output {
  'node_id': (string);
}
