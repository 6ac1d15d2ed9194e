// Original file: hitless/v1/ca_admin.proto


export interface GetClusterInfoRequest {
}

export interface GetClusterInfoRequest__Output {
}
