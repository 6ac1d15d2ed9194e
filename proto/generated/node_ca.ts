import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { GetTrustBundleRequest as _hitless_v1_GetTrustBundleRequest, GetTrustBundleRequest__Output as _hitless_v1_GetTrustBundleRequest__Output } from './hitless/v1/GetTrustBundleRequest.js';
import type { GetTrustBundleResponse as _hitless_v1_GetTrustBundleResponse, GetTrustBundleResponse__Output as _hitless_v1_GetTrustBundleResponse__Output } from './hitless/v1/GetTrustBundleResponse.js';
import type { IssueNodeCertificateRequest as _hitless_v1_IssueNodeCertificateRequest, IssueNodeCertificateRequest__Output as _hitless_v1_IssueNodeCertificateRequest__Output } from './hitless/v1/IssueNodeCertificateRequest.js';
import type { IssueNodeCertificateResponse as _hitless_v1_IssueNodeCertificateResponse, IssueNodeCertificateResponse__Output as _hitless_v1_IssueNodeCertificateResponse__Output } from './hitless/v1/IssueNodeCertificateResponse.js';
import type { IssuedCertificate as _hitless_v1_IssuedCertificate, IssuedCertificate__Output as _hitless_v1_IssuedCertificate__Output } from './hitless/v1/IssuedCertificate.js';
import type { NodeCaServiceClient as _hitless_v1_NodeCaServiceClient, NodeCaServiceDefinition as _hitless_v1_NodeCaServiceDefinition } from './hitless/v1/NodeCaService.js';
import type { RenewNodeCertificateRequest as _hitless_v1_RenewNodeCertificateRequest, RenewNodeCertificateRequest__Output as _hitless_v1_RenewNodeCertificateRequest__Output } from './hitless/v1/RenewNodeCertificateRequest.js';
import type { RenewNodeCertificateResponse as _hitless_v1_RenewNodeCertificateResponse, RenewNodeCertificateResponse__Output as _hitless_v1_RenewNodeCertificateResponse__Output } from './hitless/v1/RenewNodeCertificateResponse.js';
import type { ReportLiveCredentialsRequest as _hitless_v1_ReportLiveCredentialsRequest, ReportLiveCredentialsRequest__Output as _hitless_v1_ReportLiveCredentialsRequest__Output } from './hitless/v1/ReportLiveCredentialsRequest.js';
import type { ReportLiveCredentialsResponse as _hitless_v1_ReportLiveCredentialsResponse, ReportLiveCredentialsResponse__Output as _hitless_v1_ReportLiveCredentialsResponse__Output } from './hitless/v1/ReportLiveCredentialsResponse.js';
import type { TrustBundle as _hitless_v1_TrustBundle, TrustBundle__Output as _hitless_v1_TrustBundle__Output } from './hitless/v1/TrustBundle.js';
import type { WatchTrustBundleEvent as _hitless_v1_WatchTrustBundleEvent, WatchTrustBundleEvent__Output as _hitless_v1_WatchTrustBundleEvent__Output } from './hitless/v1/WatchTrustBundleEvent.js';
import type { WatchTrustBundleRequest as _hitless_v1_WatchTrustBundleRequest, WatchTrustBundleRequest__Output as _hitless_v1_WatchTrustBundleRequest__Output } from './hitless/v1/WatchTrustBundleRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hitless: {
    v1: {
      GetTrustBundleRequest: MessageTypeDefinition<_hitless_v1_GetTrustBundleRequest, _hitless_v1_GetTrustBundleRequest__Output>
      GetTrustBundleResponse: MessageTypeDefinition<_hitless_v1_GetTrustBundleResponse, _hitless_v1_GetTrustBundleResponse__Output>
      IssueNodeCertificateRequest: MessageTypeDefinition<_hitless_v1_IssueNodeCertificateRequest, _hitless_v1_IssueNodeCertificateRequest__Output>
      IssueNodeCertificateResponse: MessageTypeDefinition<_hitless_v1_IssueNodeCertificateResponse, _hitless_v1_IssueNodeCertificateResponse__Output>
      IssuedCertificate: MessageTypeDefinition<_hitless_v1_IssuedCertificate, _hitless_v1_IssuedCertificate__Output>
      NodeCaService: SubtypeConstructor<typeof grpc.Client, _hitless_v1_NodeCaServiceClient> & { service: _hitless_v1_NodeCaServiceDefinition }
      NodeRole: EnumTypeDefinition
      RenewNodeCertificateRequest: MessageTypeDefinition<_hitless_v1_RenewNodeCertificateRequest, _hitless_v1_RenewNodeCertificateRequest__Output>
      RenewNodeCertificateResponse: MessageTypeDefinition<_hitless_v1_RenewNodeCertificateResponse, _hitless_v1_RenewNodeCertificateResponse__Output>
      ReportLiveCredentialsRequest: MessageTypeDefinition<_hitless_v1_ReportLiveCredentialsRequest, _hitless_v1_ReportLiveCredentialsRequest__Output>
      ReportLiveCredentialsResponse: MessageTypeDefinition<_hitless_v1_ReportLiveCredentialsResponse, _hitless_v1_ReportLiveCredentialsResponse__Output>
      TrustBundle: MessageTypeDefinition<_hitless_v1_TrustBundle, _hitless_v1_TrustBundle__Output>
      WatchTrustBundleEvent: MessageTypeDefinition<_hitless_v1_WatchTrustBundleEvent, _hitless_v1_WatchTrustBundleEvent__Output>
      WatchTrustBundleRequest: MessageTypeDefinition<_hitless_v1_WatchTrustBundleRequest, _hitless_v1_WatchTrustBundleRequest__Output>
    }
  }
}

