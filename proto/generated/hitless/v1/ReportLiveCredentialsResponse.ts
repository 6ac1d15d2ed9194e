// Original file: hitless/v1/node_ca.proto


export interface ReportLiveCredentialsResponse {
}

export interface ReportLiveCredentialsResponse__Output {
}
