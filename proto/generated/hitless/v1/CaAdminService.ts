// Original file: hitless/v1/ca_admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AbortRootRotationRequest as _hitless_v1_AbortRootRotationRequest, AbortRootRotationRequest__Output as _hitless_v1_AbortRootRotationRequest__Output } from '../../hitless/v1/AbortRootRotationRequest.js';
import type { CreateJoinTokenRequest as _hitless_v1_CreateJoinTokenRequest, CreateJoinTokenRequest__Output as _hitless_v1_CreateJoinTokenRequest__Output } from '../../hitless/v1/CreateJoinTokenRequest.js';
import type { CreateJoinTokenResponse as _hitless_v1_CreateJoinTokenResponse, CreateJoinTokenResponse__Output as _hitless_v1_CreateJoinTokenResponse__Output } from '../../hitless/v1/CreateJoinTokenResponse.js';
import type { CreateOperatorRequest as _hitless_v1_CreateOperatorRequest, CreateOperatorRequest__Output as _hitless_v1_CreateOperatorRequest__Output } from '../../hitless/v1/CreateOperatorRequest.js';
import type { CreateOperatorResponse as _hitless_v1_CreateOperatorResponse, CreateOperatorResponse__Output as _hitless_v1_CreateOperatorResponse__Output } from '../../hitless/v1/CreateOperatorResponse.js';
import type { ForceRootRotationRequest as _hitless_v1_ForceRootRotationRequest, ForceRootRotationRequest__Output as _hitless_v1_ForceRootRotationRequest__Output } from '../../hitless/v1/ForceRootRotationRequest.js';
import type { GetClusterInfoRequest as _hitless_v1_GetClusterInfoRequest, GetClusterInfoRequest__Output as _hitless_v1_GetClusterInfoRequest__Output } from '../../hitless/v1/GetClusterInfoRequest.js';
import type { GetClusterInfoResponse as _hitless_v1_GetClusterInfoResponse, GetClusterInfoResponse__Output as _hitless_v1_GetClusterInfoResponse__Output } from '../../hitless/v1/GetClusterInfoResponse.js';
import type { GetJoinTokensRequest as _hitless_v1_GetJoinTokensRequest, GetJoinTokensRequest__Output as _hitless_v1_GetJoinTokensRequest__Output } from '../../hitless/v1/GetJoinTokensRequest.js';
import type { GetJoinTokensResponse as _hitless_v1_GetJoinTokensResponse, GetJoinTokensResponse__Output as _hitless_v1_GetJoinTokensResponse__Output } from '../../hitless/v1/GetJoinTokensResponse.js';
import type { GetRootRotationStatusRequest as _hitless_v1_GetRootRotationStatusRequest, GetRootRotationStatusRequest__Output as _hitless_v1_GetRootRotationStatusRequest__Output } from '../../hitless/v1/GetRootRotationStatusRequest.js';
import type { ListJoinTokensRequest as _hitless_v1_ListJoinTokensRequest, ListJoinTokensRequest__Output as _hitless_v1_ListJoinTokensRequest__Output } from '../../hitless/v1/ListJoinTokensRequest.js';
import type { ListJoinTokensResponse as _hitless_v1_ListJoinTokensResponse, ListJoinTokensResponse__Output as _hitless_v1_ListJoinTokensResponse__Output } from '../../hitless/v1/ListJoinTokensResponse.js';
import type { ListNodesRequest as _hitless_v1_ListNodesRequest, ListNodesRequest__Output as _hitless_v1_ListNodesRequest__Output } from '../../hitless/v1/ListNodesRequest.js';
import type { ListNodesResponse as _hitless_v1_ListNodesResponse, ListNodesResponse__Output as _hitless_v1_ListNodesResponse__Output } from '../../hitless/v1/ListNodesResponse.js';
import type { ListOperatorsRequest as _hitless_v1_ListOperatorsRequest, ListOperatorsRequest__Output as _hitless_v1_ListOperatorsRequest__Output } from '../../hitless/v1/ListOperatorsRequest.js';
import type { ListOperatorsResponse as _hitless_v1_ListOperatorsResponse, ListOperatorsResponse__Output as _hitless_v1_ListOperatorsResponse__Output } from '../../hitless/v1/ListOperatorsResponse.js';
import type { RemoveNodeRequest as _hitless_v1_RemoveNodeRequest, RemoveNodeRequest__Output as _hitless_v1_RemoveNodeRequest__Output } from '../../hitless/v1/RemoveNodeRequest.js';
import type { RemoveNodeResponse as _hitless_v1_RemoveNodeResponse, RemoveNodeResponse__Output as _hitless_v1_RemoveNodeResponse__Output } from '../../hitless/v1/RemoveNodeResponse.js';
import type { RevokeJoinTokenRequest as _hitless_v1_RevokeJoinTokenRequest, RevokeJoinTokenRequest__Output as _hitless_v1_RevokeJoinTokenRequest__Output } from '../../hitless/v1/RevokeJoinTokenRequest.js';
import type { RevokeJoinTokenResponse as _hitless_v1_RevokeJoinTokenResponse, RevokeJoinTokenResponse__Output as _hitless_v1_RevokeJoinTokenResponse__Output } from '../../hitless/v1/RevokeJoinTokenResponse.js';
import type { RevokeOperatorRequest as _hitless_v1_RevokeOperatorRequest, RevokeOperatorRequest__Output as _hitless_v1_RevokeOperatorRequest__Output } from '../../hitless/v1/RevokeOperatorRequest.js';
import type { RevokeOperatorResponse as _hitless_v1_RevokeOperatorResponse, RevokeOperatorResponse__Output as _hitless_v1_RevokeOperatorResponse__Output } from '../../hitless/v1/RevokeOperatorResponse.js';
import type { RootRotationStatus as _hitless_v1_RootRotationStatus, RootRotationStatus__Output as _hitless_v1_RootRotationStatus__Output } from '../../hitless/v1/RootRotationStatus.js';
import type { StartRootRotationRequest as _hitless_v1_StartRootRotationRequest, StartRootRotationRequest__Output as _hitless_v1_StartRootRotationRequest__Output } from '../../hitless/v1/StartRootRotationRequest.js';

export interface CaAdminServiceClient extends grpc.Client {
  AbortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  AbortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  AbortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  AbortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  abortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  abortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  abortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  abortRootRotation(argument: _hitless_v1_AbortRootRotationRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  
  CreateJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _hitless_v1_CreateJoinTokenRequest, callback: grpc.requestCallback<_hitless_v1_CreateJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  
  CreateOperator(argument: _hitless_v1_CreateOperatorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  CreateOperator(argument: _hitless_v1_CreateOperatorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  CreateOperator(argument: _hitless_v1_CreateOperatorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  CreateOperator(argument: _hitless_v1_CreateOperatorRequest, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  createOperator(argument: _hitless_v1_CreateOperatorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  createOperator(argument: _hitless_v1_CreateOperatorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  createOperator(argument: _hitless_v1_CreateOperatorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  createOperator(argument: _hitless_v1_CreateOperatorRequest, callback: grpc.requestCallback<_hitless_v1_CreateOperatorResponse__Output>): grpc.ClientUnaryCall;
  
  ForceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  ForceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  ForceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  ForceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  forceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  forceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  forceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  forceRootRotation(argument: _hitless_v1_ForceRootRotationRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  
  GetClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  GetClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  GetClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  GetClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  getClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  getClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  getClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  getClusterInfo(argument: _hitless_v1_GetClusterInfoRequest, callback: grpc.requestCallback<_hitless_v1_GetClusterInfoResponse__Output>): grpc.ClientUnaryCall;
  
  GetJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  GetJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  GetJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  GetJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  getJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  getJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  getJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  getJoinTokens(argument: _hitless_v1_GetJoinTokensRequest, callback: grpc.requestCallback<_hitless_v1_GetJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  
  GetRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  GetRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  GetRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  GetRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  getRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  getRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  getRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  getRootRotationStatus(argument: _hitless_v1_GetRootRotationStatusRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  
  ListJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  ListJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  ListJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  ListJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  listJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  listJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  listJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  listJoinTokens(argument: _hitless_v1_ListJoinTokensRequest, callback: grpc.requestCallback<_hitless_v1_ListJoinTokensResponse__Output>): grpc.ClientUnaryCall;
  
  ListNodes(argument: _hitless_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _hitless_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _hitless_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _hitless_v1_ListNodesRequest, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _hitless_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _hitless_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _hitless_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _hitless_v1_ListNodesRequest, callback: grpc.requestCallback<_hitless_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  
  ListOperators(argument: _hitless_v1_ListOperatorsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  ListOperators(argument: _hitless_v1_ListOperatorsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  ListOperators(argument: _hitless_v1_ListOperatorsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  ListOperators(argument: _hitless_v1_ListOperatorsRequest, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  listOperators(argument: _hitless_v1_ListOperatorsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  listOperators(argument: _hitless_v1_ListOperatorsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  listOperators(argument: _hitless_v1_ListOperatorsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  listOperators(argument: _hitless_v1_ListOperatorsRequest, callback: grpc.requestCallback<_hitless_v1_ListOperatorsResponse__Output>): grpc.ClientUnaryCall;
  
  RemoveNode(argument: _hitless_v1_RemoveNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  RemoveNode(argument: _hitless_v1_RemoveNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  RemoveNode(argument: _hitless_v1_RemoveNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  RemoveNode(argument: _hitless_v1_RemoveNodeRequest, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _hitless_v1_RemoveNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _hitless_v1_RemoveNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _hitless_v1_RemoveNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _hitless_v1_RemoveNodeRequest, callback: grpc.requestCallback<_hitless_v1_RemoveNodeResponse__Output>): grpc.ClientUnaryCall;
  
  RevokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  RevokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  RevokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  RevokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeJoinToken(argument: _hitless_v1_RevokeJoinTokenRequest, callback: grpc.requestCallback<_hitless_v1_RevokeJoinTokenResponse__Output>): grpc.ClientUnaryCall;
  
  RevokeOperator(argument: _hitless_v1_RevokeOperatorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  RevokeOperator(argument: _hitless_v1_RevokeOperatorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  RevokeOperator(argument: _hitless_v1_RevokeOperatorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  RevokeOperator(argument: _hitless_v1_RevokeOperatorRequest, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  revokeOperator(argument: _hitless_v1_RevokeOperatorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  revokeOperator(argument: _hitless_v1_RevokeOperatorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  revokeOperator(argument: _hitless_v1_RevokeOperatorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  revokeOperator(argument: _hitless_v1_RevokeOperatorRequest, callback: grpc.requestCallback<_hitless_v1_RevokeOperatorResponse__Output>): grpc.ClientUnaryCall;
  
  StartRootRotation(argument: _hitless_v1_StartRootRotationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  StartRootRotation(argument: _hitless_v1_StartRootRotationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  StartRootRotation(argument: _hitless_v1_StartRootRotationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  StartRootRotation(argument: _hitless_v1_StartRootRotationRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  startRootRotation(argument: _hitless_v1_StartRootRotationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  startRootRotation(argument: _hitless_v1_StartRootRotationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  startRootRotation(argument: _hitless_v1_StartRootRotationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  startRootRotation(argument: _hitless_v1_StartRootRotationRequest, callback: grpc.requestCallback<_hitless_v1_RootRotationStatus__Output>): grpc.ClientUnaryCall;
  
}

export interface CaAdminServiceHandlers extends grpc.UntypedServiceImplementation {
  AbortRootRotation: grpc.handleUnaryCall<_hitless_v1_AbortRootRotationRequest__Output, _hitless_v1_RootRotationStatus>;
  
  CreateJoinToken: grpc.handleUnaryCall<_hitless_v1_CreateJoinTokenRequest__Output, _hitless_v1_CreateJoinTokenResponse>;
  
  CreateOperator: grpc.handleUnaryCall<_hitless_v1_CreateOperatorRequest__Output, _hitless_v1_CreateOperatorResponse>;
  
  ForceRootRotation: grpc.handleUnaryCall<_hitless_v1_ForceRootRotationRequest__Output, _hitless_v1_RootRotationStatus>;
  
  GetClusterInfo: grpc.handleUnaryCall<_hitless_v1_GetClusterInfoRequest__Output, _hitless_v1_GetClusterInfoResponse>;
  
  GetJoinTokens: grpc.handleUnaryCall<_hitless_v1_GetJoinTokensRequest__Output, _hitless_v1_GetJoinTokensResponse>;
  
  GetRootRotationStatus: grpc.handleUnaryCall<_hitless_v1_GetRootRotationStatusRequest__Output, _hitless_v1_RootRotationStatus>;
  
  ListJoinTokens: grpc.handleUnaryCall<_hitless_v1_ListJoinTokensRequest__Output, _hitless_v1_ListJoinTokensResponse>;
  
  ListNodes: grpc.handleUnaryCall<_hitless_v1_ListNodesRequest__Output, _hitless_v1_ListNodesResponse>;
  
  ListOperators: grpc.handleUnaryCall<_hitless_v1_ListOperatorsRequest__Output, _hitless_v1_ListOperatorsResponse>;
  
  RemoveNode: grpc.handleUnaryCall<_hitless_v1_RemoveNodeRequest__Output, _hitless_v1_RemoveNodeResponse>;
  
  RevokeJoinToken: grpc.handleUnaryCall<_hitless_v1_RevokeJoinTokenRequest__Output, _hitless_v1_RevokeJoinTokenResponse>;
  
  RevokeOperator: grpc.handleUnaryCall<_hitless_v1_RevokeOperatorRequest__Output, _hitless_v1_RevokeOperatorResponse>;
  
  StartRootRotation: grpc.handleUnaryCall<_hitless_v1_StartRootRotationRequest__Output, _hitless_v1_RootRotationStatus>;
  
}

export interface CaAdminServiceDefinition extends grpc.ServiceDefinition {
  AbortRootRotation: MethodDefinition<_hitless_v1_AbortRootRotationRequest, _hitless_v1_RootRotationStatus, _hitless_v1_AbortRootRotationRequest__Output, _hitless_v1_RootRotationStatus__Output>
  CreateJoinToken: MethodDefinition<_hitless_v1_CreateJoinTokenRequest, _hitless_v1_CreateJoinTokenResponse, _hitless_v1_CreateJoinTokenRequest__Output, _hitless_v1_CreateJoinTokenResponse__Output>
  CreateOperator: MethodDefinition<_hitless_v1_CreateOperatorRequest, _hitless_v1_CreateOperatorResponse, _hitless_v1_CreateOperatorRequest__Output, _hitless_v1_CreateOperatorResponse__Output>
  ForceRootRotation: MethodDefinition<_hitless_v1_ForceRootRotationRequest, _hitless_v1_RootRotationStatus, _hitless_v1_ForceRootRotationRequest__Output, _hitless_v1_RootRotationStatus__Output>
  GetClusterInfo: MethodDefinition<_hitless_v1_GetClusterInfoRequest, _hitless_v1_GetClusterInfoResponse, _hitless_v1_GetClusterInfoRequest__Output, _hitless_v1_GetClusterInfoResponse__Output>
  GetJoinTokens: MethodDefinition<_hitless_v1_GetJoinTokensRequest, _hitless_v1_GetJoinTokensResponse, _hitless_v1_GetJoinTokensRequest__Output, _hitless_v1_GetJoinTokensResponse__Output>
  GetRootRotationStatus: MethodDefinition<_hitless_v1_GetRootRotationStatusRequest, _hitless_v1_RootRotationStatus, _hitless_v1_GetRootRotationStatusRequest__Output, _hitless_v1_RootRotationStatus__Output>
  ListJoinTokens: MethodDefinition<_hitless_v1_ListJoinTokensRequest, _hitless_v1_ListJoinTokensResponse, _hitless_v1_ListJoinTokensRequest__Output, _hitless_v1_ListJoinTokensResponse__Output>
  ListNodes: MethodDefinition<_hitless_v1_ListNodesRequest, _hitless_v1_ListNodesResponse, _hitless_v1_ListNodesRequest__Output, _hitless_v1_ListNodesResponse__Output>
  ListOperators: MethodDefinition<_hitless_v1_ListOperatorsRequest, _hitless_v1_ListOperatorsResponse, _hitless_v1_ListOperatorsRequest__Output, _hitless_v1_ListOperatorsResponse__Output>
  RemoveNode: MethodDefinition<_hitless_v1_RemoveNodeRequest, _hitless_v1_RemoveNodeResponse, _hitless_v1_RemoveNodeRequest__Output, _hitless_v1_RemoveNodeResponse__Output>
  RevokeJoinToken: MethodDefinition<_hitless_v1_RevokeJoinTokenRequest, _hitless_v1_RevokeJoinTokenResponse, _hitless_v1_RevokeJoinTokenRequest__Output, _hitless_v1_RevokeJoinTokenResponse__Output>
  RevokeOperator: MethodDefinition<_hitless_v1_RevokeOperatorRequest, _hitless_v1_RevokeOperatorResponse, _hitless_v1_RevokeOperatorRequest__Output, _hitless_v1_RevokeOperatorResponse__Output>
  StartRootRotation: MethodDefinition<_hitless_v1_StartRootRotationRequest, _hitless_v1_RootRotationStatus, _hitless_v1_StartRootRotationRequest__Output, _hitless_v1_RootRotationStatus__Output>
}
