// Original file: hitless/v1/ca_admin.proto


export interface ForceRootRotationRequest {
  'node_ids'?: (string)[];
}

export interface ForceRootRotationRequest__Output {
  'node_ids': (string)[];
}
