// Original file: hitless/v1/ca_admin.proto


export interface GetRootRotationStatusRequest {
}

export interface GetRootRotationStatusRequest__Output {
}
