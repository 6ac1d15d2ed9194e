// Original file: hitless/v1/ca_admin.proto


export interface ListOperatorsRequest {
}

export interface ListOperatorsRequest__Output {
}
