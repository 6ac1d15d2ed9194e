// Original file: hitless/v1/node.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { HeartbeatPing as _hitless_v1_HeartbeatPing, HeartbeatPing__Output as _hitless_v1_HeartbeatPing__Output } from '../../hitless/v1/HeartbeatPing.js';
import type { HeartbeatPong as _hitless_v1_HeartbeatPong, HeartbeatPong__Output as _hitless_v1_HeartbeatPong__Output } from '../../hitless/v1/HeartbeatPong.js';
import type { WhoAmIRequest as _hitless_v1_WhoAmIRequest, WhoAmIRequest__Output as _hitless_v1_WhoAmIRequest__Output } from '../../hitless/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _hitless_v1_WhoAmIResponse, WhoAmIResponse__Output as _hitless_v1_WhoAmIResponse__Output } from '../../hitless/v1/WhoAmIResponse.js';

export interface NodeServiceClient extends grpc.Client {
  Heartbeat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hitless_v1_HeartbeatPing, _hitless_v1_HeartbeatPong__Output>;
  Heartbeat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hitless_v1_HeartbeatPing, _hitless_v1_HeartbeatPong__Output>;
  heartbeat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hitless_v1_HeartbeatPing, _hitless_v1_HeartbeatPong__Output>;
  heartbeat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hitless_v1_HeartbeatPing, _hitless_v1_HeartbeatPong__Output>;
  
  WhoAmI(argument: _hitless_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _hitless_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _hitless_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _hitless_v1_WhoAmIRequest, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _hitless_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _hitless_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _hitless_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _hitless_v1_WhoAmIRequest, callback: grpc.requestCallback<_hitless_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface NodeServiceHandlers extends grpc.UntypedServiceImplementation {
  Heartbeat: grpc.handleBidiStreamingCall<_hitless_v1_HeartbeatPing__Output, _hitless_v1_HeartbeatPong>;
  
  WhoAmI: grpc.handleUnaryCall<_hitless_v1_WhoAmIRequest__Output, _hitless_v1_WhoAmIResponse>;
  
}

export interface NodeServiceDefinition extends grpc.ServiceDefinition {
  Heartbeat: MethodDefinition<_hitless_v1_HeartbeatPing, _hitless_v1_HeartbeatPong, _hitless_v1_HeartbeatPing__Output, _hitless_v1_HeartbeatPong__Output>
  WhoAmI: MethodDefinition<_hitless_v1_WhoAmIRequest, _hitless_v1_WhoAmIResponse, _hitless_v1_WhoAmIRequest__Output, _hitless_v1_WhoAmIResponse__Output>
}
