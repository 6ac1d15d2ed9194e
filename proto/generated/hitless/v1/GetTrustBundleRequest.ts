// Original file: hitless/v1/node_ca.proto


export interface GetTrustBundleRequest {
}

export interface GetTrustBundleRequest__Output {
}
