// Original file: hitless/v1/ca_admin.proto


export interface ListJoinTokensRequest {
}

export interface ListJoinTokensRequest__Output {
}
