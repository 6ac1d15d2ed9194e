import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AbortRootRotationRequest as _hitless_v1_AbortRootRotationRequest, AbortRootRotationRequest__Output as _hitless_v1_AbortRootRotationRequest__Output } from './hitless/v1/AbortRootRotationRequest.js';
import type { BlockingNode as _hitless_v1_BlockingNode, BlockingNode__Output as _hitless_v1_BlockingNode__Output } from './hitless/v1/BlockingNode.js';
import type { CaAdminServiceClient as _hitless_v1_CaAdminServiceClient, CaAdminServiceDefinition as _hitless_v1_CaAdminServiceDefinition } from './hitless/v1/CaAdminService.js';
import type { CreateJoinTokenRequest as _hitless_v1_CreateJoinTokenRequest, CreateJoinTokenRequest__Output as _hitless_v1_CreateJoinTokenRequest__Output } from './hitless/v1/CreateJoinTokenRequest.js';
import type { CreateJoinTokenResponse as _hitless_v1_CreateJoinTokenResponse, CreateJoinTokenResponse__Output as _hitless_v1_CreateJoinTokenResponse__Output } from './hitless/v1/CreateJoinTokenResponse.js';
import type { CreateOperatorRequest as _hitless_v1_CreateOperatorRequest, CreateOperatorRequest__Output as _hitless_v1_CreateOperatorRequest__Output } from './hitless/v1/CreateOperatorRequest.js';
import type { CreateOperatorResponse as _hitless_v1_CreateOperatorResponse, CreateOperatorResponse__Output as _hitless_v1_CreateOperatorResponse__Output } from './hitless/v1/CreateOperatorResponse.js';
import type { ForceRootRotationRequest as _hitless_v1_ForceRootRotationRequest, ForceRootRotationRequest__Output as _hitless_v1_ForceRootRotationRequest__Output } from './hitless/v1/ForceRootRotationRequest.js';
import type { GetClusterInfoRequest as _hitless_v1_GetClusterInfoRequest, GetClusterInfoRequest__Output as _hitless_v1_GetClusterInfoRequest__Output } from './hitless/v1/GetClusterInfoRequest.js';
import type { GetClusterInfoResponse as _hitless_v1_GetClusterInfoResponse, GetClusterInfoResponse__Output as _hitless_v1_GetClusterInfoResponse__Output } from './hitless/v1/GetClusterInfoResponse.js';
import type { GetJoinTokensRequest as _hitless_v1_GetJoinTokensRequest, GetJoinTokensRequest__Output as _hitless_v1_GetJoinTokensRequest__Output } from './hitless/v1/GetJoinTokensRequest.js';
import type { GetJoinTokensResponse as _hitless_v1_GetJoinTokensResponse, GetJoinTokensResponse__Output as _hitless_v1_GetJoinTokensResponse__Output } from './hitless/v1/GetJoinTokensResponse.js';
import type { GetRootRotationStatusRequest as _hitless_v1_GetRootRotationStatusRequest, GetRootRotationStatusRequest__Output as _hitless_v1_GetRootRotationStatusRequest__Output } from './hitless/v1/GetRootRotationStatusRequest.js';
import type { GetTrustBundleRequest as _hitless_v1_GetTrustBundleRequest, GetTrustBundleRequest__Output as _hitless_v1_GetTrustBundleRequest__Output } from './hitless/v1/GetTrustBundleRequest.js';
import type { GetTrustBundleResponse as _hitless_v1_GetTrustBundleResponse, GetTrustBundleResponse__Output as _hitless_v1_GetTrustBundleResponse__Output } from './hitless/v1/GetTrustBundleResponse.js';
import type { IssueNodeCertificateRequest as _hitless_v1_IssueNodeCertificateRequest, IssueNodeCertificateRequest__Output as _hitless_v1_IssueNodeCertificateRequest__Output } from './hitless/v1/IssueNodeCertificateRequest.js';
import type { IssueNodeCertificateResponse as _hitless_v1_IssueNodeCertificateResponse, IssueNodeCertificateResponse__Output as _hitless_v1_IssueNodeCertificateResponse__Output } from './hitless/v1/IssueNodeCertificateResponse.js';
import type { IssuedCertificate as _hitless_v1_IssuedCertificate, IssuedCertificate__Output as _hitless_v1_IssuedCertificate__Output } from './hitless/v1/IssuedCertificate.js';
import type { JoinTokenInfo as _hitless_v1_JoinTokenInfo, JoinTokenInfo__Output as _hitless_v1_JoinTokenInfo__Output } from './hitless/v1/JoinTokenInfo.js';
import type { ListJoinTokensRequest as _hitless_v1_ListJoinTokensRequest, ListJoinTokensRequest__Output as _hitless_v1_ListJoinTokensRequest__Output } from './hitless/v1/ListJoinTokensRequest.js';
import type { ListJoinTokensResponse as _hitless_v1_ListJoinTokensResponse, ListJoinTokensResponse__Output as _hitless_v1_ListJoinTokensResponse__Output } from './hitless/v1/ListJoinTokensResponse.js';
import type { ListNodesRequest as _hitless_v1_ListNodesRequest, ListNodesRequest__Output as _hitless_v1_ListNodesRequest__Output } from './hitless/v1/ListNodesRequest.js';
import type { ListNodesResponse as _hitless_v1_ListNodesResponse, ListNodesResponse__Output as _hitless_v1_ListNodesResponse__Output } from './hitless/v1/ListNodesResponse.js';
import type { ListOperatorsRequest as _hitless_v1_ListOperatorsRequest, ListOperatorsRequest__Output as _hitless_v1_ListOperatorsRequest__Output } from './hitless/v1/ListOperatorsRequest.js';
import type { ListOperatorsResponse as _hitless_v1_ListOperatorsResponse, ListOperatorsResponse__Output as _hitless_v1_ListOperatorsResponse__Output } from './hitless/v1/ListOperatorsResponse.js';
import type { NodeCaServiceClient as _hitless_v1_NodeCaServiceClient, NodeCaServiceDefinition as _hitless_v1_NodeCaServiceDefinition } from './hitless/v1/NodeCaService.js';
import type { NodeInfo as _hitless_v1_NodeInfo, NodeInfo__Output as _hitless_v1_NodeInfo__Output } from './hitless/v1/NodeInfo.js';
import type { OperatorInfo as _hitless_v1_OperatorInfo, OperatorInfo__Output as _hitless_v1_OperatorInfo__Output } from './hitless/v1/OperatorInfo.js';
import type { RemoveNodeRequest as _hitless_v1_RemoveNodeRequest, RemoveNodeRequest__Output as _hitless_v1_RemoveNodeRequest__Output } from './hitless/v1/RemoveNodeRequest.js';
import type { RemoveNodeResponse as _hitless_v1_RemoveNodeResponse, RemoveNodeResponse__Output as _hitless_v1_RemoveNodeResponse__Output } from './hitless/v1/RemoveNodeResponse.js';
import type { RenewNodeCertificateRequest as _hitless_v1_RenewNodeCertificateRequest, RenewNodeCertificateRequest__Output as _hitless_v1_RenewNodeCertificateRequest__Output } from './hitless/v1/RenewNodeCertificateRequest.js';
import type { RenewNodeCertificateResponse as _hitless_v1_RenewNodeCertificateResponse, RenewNodeCertificateResponse__Output as _hitless_v1_RenewNodeCertificateResponse__Output } from './hitless/v1/RenewNodeCertificateResponse.js';
import type { ReportLiveCredentialsRequest as _hitless_v1_ReportLiveCredentialsRequest, ReportLiveCredentialsRequest__Output as _hitless_v1_ReportLiveCredentialsRequest__Output } from './hitless/v1/ReportLiveCredentialsRequest.js';
import type { ReportLiveCredentialsResponse as _hitless_v1_ReportLiveCredentialsResponse, ReportLiveCredentialsResponse__Output as _hitless_v1_ReportLiveCredentialsResponse__Output } from './hitless/v1/ReportLiveCredentialsResponse.js';
import type { RevokeJoinTokenRequest as _hitless_v1_RevokeJoinTokenRequest, RevokeJoinTokenRequest__Output as _hitless_v1_RevokeJoinTokenRequest__Output } from './hitless/v1/RevokeJoinTokenRequest.js';
import type { RevokeJoinTokenResponse as _hitless_v1_RevokeJoinTokenResponse, RevokeJoinTokenResponse__Output as _hitless_v1_RevokeJoinTokenResponse__Output } from './hitless/v1/RevokeJoinTokenResponse.js';
import type { RevokeOperatorRequest as _hitless_v1_RevokeOperatorRequest, RevokeOperatorRequest__Output as _hitless_v1_RevokeOperatorRequest__Output } from './hitless/v1/RevokeOperatorRequest.js';
import type { RevokeOperatorResponse as _hitless_v1_RevokeOperatorResponse, RevokeOperatorResponse__Output as _hitless_v1_RevokeOperatorResponse__Output } from './hitless/v1/RevokeOperatorResponse.js';
import type { RootRotationStatus as _hitless_v1_RootRotationStatus, RootRotationStatus__Output as _hitless_v1_RootRotationStatus__Output } from './hitless/v1/RootRotationStatus.js';
import type { StartRootRotationRequest as _hitless_v1_StartRootRotationRequest, StartRootRotationRequest__Output as _hitless_v1_StartRootRotationRequest__Output } from './hitless/v1/StartRootRotationRequest.js';
import type { TrustBundle as _hitless_v1_TrustBundle, TrustBundle__Output as _hitless_v1_TrustBundle__Output } from './hitless/v1/TrustBundle.js';
import type { WaitingNode as _hitless_v1_WaitingNode, WaitingNode__Output as _hitless_v1_WaitingNode__Output } from './hitless/v1/WaitingNode.js';
import type { WatchTrustBundleEvent as _hitless_v1_WatchTrustBundleEvent, WatchTrustBundleEvent__Output as _hitless_v1_WatchTrustBundleEvent__Output } from './hitless/v1/WatchTrustBundleEvent.js';
import type { WatchTrustBundleRequest as _hitless_v1_WatchTrustBundleRequest, WatchTrustBundleRequest__Output as _hitless_v1_WatchTrustBundleRequest__Output } from './hitless/v1/WatchTrustBundleRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hitless: {
    v1: {
      AbortRootRotationRequest: MessageTypeDefinition<_hitless_v1_AbortRootRotationRequest, _hitless_v1_AbortRootRotationRequest__Output>
      BlockingNode: MessageTypeDefinition<_hitless_v1_BlockingNode, _hitless_v1_BlockingNode__Output>
      CaAdminService: SubtypeConstructor<typeof grpc.Client, _hitless_v1_CaAdminServiceClient> & { service: _hitless_v1_CaAdminServiceDefinition }
      CreateJoinTokenRequest: MessageTypeDefinition<_hitless_v1_CreateJoinTokenRequest, _hitless_v1_CreateJoinTokenRequest__Output>
      CreateJoinTokenResponse: MessageTypeDefinition<_hitless_v1_CreateJoinTokenResponse, _hitless_v1_CreateJoinTokenResponse__Output>
      CreateOperatorRequest: MessageTypeDefinition<_hitless_v1_CreateOperatorRequest, _hitless_v1_CreateOperatorRequest__Output>
      CreateOperatorResponse: MessageTypeDefinition<_hitless_v1_CreateOperatorResponse, _hitless_v1_CreateOperatorResponse__Output>
      ForceRootRotationRequest: MessageTypeDefinition<_hitless_v1_ForceRootRotationRequest, _hitless_v1_ForceRootRotationRequest__Output>
      GetClusterInfoRequest: MessageTypeDefinition<_hitless_v1_GetClusterInfoRequest, _hitless_v1_GetClusterInfoRequest__Output>
      GetClusterInfoResponse: MessageTypeDefinition<_hitless_v1_GetClusterInfoResponse, _hitless_v1_GetClusterInfoResponse__Output>
      GetJoinTokensRequest: MessageTypeDefinition<_hitless_v1_GetJoinTokensRequest, _hitless_v1_GetJoinTokensRequest__Output>
      GetJoinTokensResponse: MessageTypeDefinition<_hitless_v1_GetJoinTokensResponse, _hitless_v1_GetJoinTokensResponse__Output>
      GetRootRotationStatusRequest: MessageTypeDefinition<_hitless_v1_GetRootRotationStatusRequest, _hitless_v1_GetRootRotationStatusRequest__Output>
      GetTrustBundleRequest: MessageTypeDefinition<_hitless_v1_GetTrustBundleRequest, _hitless_v1_GetTrustBundleRequest__Output>
      GetTrustBundleResponse: MessageTypeDefinition<_hitless_v1_GetTrustBundleResponse, _hitless_v1_GetTrustBundleResponse__Output>
      IssueNodeCertificateRequest: MessageTypeDefinition<_hitless_v1_IssueNodeCertificateRequest, _hitless_v1_IssueNodeCertificateRequest__Output>
      IssueNodeCertificateResponse: MessageTypeDefinition<_hitless_v1_IssueNodeCertificateResponse, _hitless_v1_IssueNodeCertificateResponse__Output>
      IssuedCertificate: MessageTypeDefinition<_hitless_v1_IssuedCertificate, _hitless_v1_IssuedCertificate__Output>
      JoinTokenInfo: MessageTypeDefinition<_hitless_v1_JoinTokenInfo, _hitless_v1_JoinTokenInfo__Output>
      ListJoinTokensRequest: MessageTypeDefinition<_hitless_v1_ListJoinTokensRequest, _hitless_v1_ListJoinTokensRequest__Output>
      ListJoinTokensResponse: MessageTypeDefinition<_hitless_v1_ListJoinTokensResponse, _hitless_v1_ListJoinTokensResponse__Output>
      ListNodesRequest: MessageTypeDefinition<_hitless_v1_ListNodesRequest, _hitless_v1_ListNodesRequest__Output>
      ListNodesResponse: MessageTypeDefinition<_hitless_v1_ListNodesResponse, _hitless_v1_ListNodesResponse__Output>
      ListOperatorsRequest: MessageTypeDefinition<_hitless_v1_ListOperatorsRequest, _hitless_v1_ListOperatorsRequest__Output>
      ListOperatorsResponse: MessageTypeDefinition<_hitless_v1_ListOperatorsResponse, _hitless_v1_ListOperatorsResponse__Output>
      NodeCaService: SubtypeConstructor<typeof grpc.Client, _hitless_v1_NodeCaServiceClient> & { service: _hitless_v1_NodeCaServiceDefinition }
      NodeInfo: MessageTypeDefinition<_hitless_v1_NodeInfo, _hitless_v1_NodeInfo__Output>
      NodeRole: EnumTypeDefinition
      OperatorInfo: MessageTypeDefinition<_hitless_v1_OperatorInfo, _hitless_v1_OperatorInfo__Output>
      RemoveNodeRequest: MessageTypeDefinition<_hitless_v1_RemoveNodeRequest, _hitless_v1_RemoveNodeRequest__Output>
      RemoveNodeResponse: MessageTypeDefinition<_hitless_v1_RemoveNodeResponse, _hitless_v1_RemoveNodeResponse__Output>
      RenewNodeCertificateRequest: MessageTypeDefinition<_hitless_v1_RenewNodeCertificateRequest, _hitless_v1_RenewNodeCertificateRequest__Output>
      RenewNodeCertificateResponse: MessageTypeDefinition<_hitless_v1_RenewNodeCertificateResponse, _hitless_v1_RenewNodeCertificateResponse__Output>
      ReportLiveCredentialsRequest: MessageTypeDefinition<_hitless_v1_ReportLiveCredentialsRequest, _hitless_v1_ReportLiveCredentialsRequest__Output>
      ReportLiveCredentialsResponse: MessageTypeDefinition<_hitless_v1_ReportLiveCredentialsResponse, _hitless_v1_ReportLiveCredentialsResponse__Output>
      RevokeJoinTokenRequest: MessageTypeDefinition<_hitless_v1_RevokeJoinTokenRequest, _hitless_v1_RevokeJoinTokenRequest__Output>
      RevokeJoinTokenResponse: MessageTypeDefinition<_hitless_v1_RevokeJoinTokenResponse, _hitless_v1_RevokeJoinTokenResponse__Output>
      RevokeOperatorRequest: MessageTypeDefinition<_hitless_v1_RevokeOperatorRequest, _hitless_v1_RevokeOperatorRequest__Output>
      RevokeOperatorResponse: MessageTypeDefinition<_hitless_v1_RevokeOperatorResponse, _hitless_v1_RevokeOperatorResponse__Output>
      RootRotationStatus: MessageTypeDefinition<_hitless_v1_RootRotationStatus, _hitless_v1_RootRotationStatus__Output>
      StartRootRotationRequest: MessageTypeDefinition<_hitless_v1_StartRootRotationRequest, _hitless_v1_StartRootRotationRequest__Output>
      TrustBundle: MessageTypeDefinition<_hitless_v1_TrustBundle, _hitless_v1_TrustBundle__Output>
      WaitingNode: MessageTypeDefinition<_hitless_v1_WaitingNode, _hitless_v1_WaitingNode__Output>
      WatchTrustBundleEvent: MessageTypeDefinition<_hitless_v1_WatchTrustBundleEvent, _hitless_v1_WatchTrustBundleEvent__Output>
      WatchTrustBundleRequest: MessageTypeDefinition<_hitless_v1_WatchTrustBundleRequest, _hitless_v1_WatchTrustBundleRequest__Output>
    }
  }
}

