// Original file: hitless/v1/node_ca.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetTrustBundleRequest as _hitless_v1_GetTrustBundleRequest, GetTrustBundleRequest__Output as _hitless_v1_GetTrustBundleRequest__Output } from '../../hitless/v1/GetTrustBundleRequest.js';
import type { GetTrustBundleResponse as _hitless_v1_GetTrustBundleResponse, GetTrustBundleResponse__Output as _hitless_v1_GetTrustBundleResponse__Output } from '../../hitless/v1/GetTrustBundleResponse.js';
import type { IssueNodeCertificateRequest as _hitless_v1_IssueNodeCertificateRequest, IssueNodeCertificateRequest__Output as _hitless_v1_IssueNodeCertificateRequest__Output } from '../../hitless/v1/IssueNodeCertificateRequest.js';
import type { IssueNodeCertificateResponse as _hitless_v1_IssueNodeCertificateResponse, IssueNodeCertificateResponse__Output as _hitless_v1_IssueNodeCertificateResponse__Output } from '../../hitless/v1/IssueNodeCertificateResponse.js';
import type { RenewNodeCertificateRequest as _hitless_v1_RenewNodeCertificateRequest, RenewNodeCertificateRequest__Output as _hitless_v1_RenewNodeCertificateRequest__Output } from '../../hitless/v1/RenewNodeCertificateRequest.js';
import type { RenewNodeCertificateResponse as _hitless_v1_RenewNodeCertificateResponse, RenewNodeCertificateResponse__Output as _hitless_v1_RenewNodeCertificateResponse__Output } from '../../hitless/v1/RenewNodeCertificateResponse.js';
import type { ReportLiveCredentialsRequest as _hitless_v1_ReportLiveCredentialsRequest, ReportLiveCredentialsRequest__Output as _hitless_v1_ReportLiveCredentialsRequest__Output } from '../../hitless/v1/ReportLiveCredentialsRequest.js';
import type { ReportLiveCredentialsResponse as _hitless_v1_ReportLiveCredentialsResponse, ReportLiveCredentialsResponse__Output as _hitless_v1_ReportLiveCredentialsResponse__Output } from '../../hitless/v1/ReportLiveCredentialsResponse.js';
import type { WatchTrustBundleEvent as _hitless_v1_WatchTrustBundleEvent, WatchTrustBundleEvent__Output as _hitless_v1_WatchTrustBundleEvent__Output } from '../../hitless/v1/WatchTrustBundleEvent.js';
import type { WatchTrustBundleRequest as _hitless_v1_WatchTrustBundleRequest, WatchTrustBundleRequest__Output as _hitless_v1_WatchTrustBundleRequest__Output } from '../../hitless/v1/WatchTrustBundleRequest.js';

export interface NodeCaServiceClient extends grpc.Client {
  GetTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  GetTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  GetTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  GetTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  getTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  getTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  getTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  getTrustBundle(argument: _hitless_v1_GetTrustBundleRequest, callback: grpc.requestCallback<_hitless_v1_GetTrustBundleResponse__Output>): grpc.ClientUnaryCall;
  
  IssueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  IssueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  IssueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  IssueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _hitless_v1_IssueNodeCertificateRequest, callback: grpc.requestCallback<_hitless_v1_IssueNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  
  RenewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  RenewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  RenewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  RenewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewNodeCertificate(argument: _hitless_v1_RenewNodeCertificateRequest, callback: grpc.requestCallback<_hitless_v1_RenewNodeCertificateResponse__Output>): grpc.ClientUnaryCall;
  
  ReportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  ReportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  ReportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  ReportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  reportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  reportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  reportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  reportLiveCredentials(argument: _hitless_v1_ReportLiveCredentialsRequest, callback: grpc.requestCallback<_hitless_v1_ReportLiveCredentialsResponse__Output>): grpc.ClientUnaryCall;
  
  WatchTrustBundle(argument: _hitless_v1_WatchTrustBundleRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hitless_v1_WatchTrustBundleEvent__Output>;
  WatchTrustBundle(argument: _hitless_v1_WatchTrustBundleRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hitless_v1_WatchTrustBundleEvent__Output>;
  watchTrustBundle(argument: _hitless_v1_WatchTrustBundleRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hitless_v1_WatchTrustBundleEvent__Output>;
  watchTrustBundle(argument: _hitless_v1_WatchTrustBundleRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hitless_v1_WatchTrustBundleEvent__Output>;
  
}

export interface NodeCaServiceHandlers extends grpc.UntypedServiceImplementation {
  GetTrustBundle: grpc.handleUnaryCall<_hitless_v1_GetTrustBundleRequest__Output, _hitless_v1_GetTrustBundleResponse>;
  
  IssueNodeCertificate: grpc.handleUnaryCall<_hitless_v1_IssueNodeCertificateRequest__Output, _hitless_v1_IssueNodeCertificateResponse>;
  
  RenewNodeCertificate: grpc.handleUnaryCall<_hitless_v1_RenewNodeCertificateRequest__Output, _hitless_v1_RenewNodeCertificateResponse>;
  
  ReportLiveCredentials: grpc.handleUnaryCall<_hitless_v1_ReportLiveCredentialsRequest__Output, _hitless_v1_ReportLiveCredentialsResponse>;
  
  WatchTrustBundle: grpc.handleServerStreamingCall<_hitless_v1_WatchTrustBundleRequest__Output, _hitless_v1_WatchTrustBundleEvent>;
  
}

export interface NodeCaServiceDefinition extends grpc.ServiceDefinition {
  GetTrustBundle: MethodDefinition<_hitless_v1_GetTrustBundleRequest, _hitless_v1_GetTrustBundleResponse, _hitless_v1_GetTrustBundleRequest__Output, _hitless_v1_GetTrustBundleResponse__Output>
  IssueNodeCertificate: MethodDefinition<_hitless_v1_IssueNodeCertificateRequest, _hitless_v1_IssueNodeCertificateResponse, _hitless_v1_IssueNodeCertificateRequest__Output, _hitless_v1_IssueNodeCertificateResponse__Output>
  RenewNodeCertificate: MethodDefinition<_hitless_v1_RenewNodeCertificateRequest, _hitless_v1_RenewNodeCertificateResponse, _hitless_v1_RenewNodeCertificateRequest__Output, _hitless_v1_RenewNodeCertificateResponse__Output>
  ReportLiveCredentials: MethodDefinition<_hitless_v1_ReportLiveCredentialsRequest, _hitless_v1_ReportLiveCredentialsResponse, _hitless_v1_ReportLiveCredentialsRequest__Output, _hitless_v1_ReportLiveCredentialsResponse__Output>
  WatchTrustBundle: MethodDefinition<_hitless_v1_WatchTrustBundleRequest, _hitless_v1_WatchTrustBundleEvent, _hitless_v1_WatchTrustBundleRequest__Output, _hitless_v1_WatchTrustBundleEvent__Output>
}
