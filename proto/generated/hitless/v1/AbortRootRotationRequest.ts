// Original file: hitless/v1/ca_admin.proto


export interface AbortRootRotationRequest {
}

export interface AbortRootRotationRequest__Output {
}
