// Original file: hitless/v1/ca_admin.proto


export interface ListNodesRequest {
}

export interface ListNodesRequest__Output {
}
