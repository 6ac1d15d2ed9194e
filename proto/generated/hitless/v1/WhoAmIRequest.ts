// Original file: hitless/v1/node.proto


export interface WhoAmIRequest {
}

export interface WhoAmIRequest__Output {
}
