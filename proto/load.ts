// The one place that loads the .proto files. Loader options must match the flags in proto/generate.sh so
// that the committed generated types describe exactly what grpc-js hands us at runtime.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as NodeCaProto } from './generated/node_ca.js';
import type { ProtoGrpcType as CaAdminProto } from './generated/ca_admin.js';
import type { ProtoGrpcType as NodeProto } from './generated/node.js';

export const PROTO_DIR = fileURLToPath(new URL('.', import.meta.url));

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

function load<T>(file: string): T {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, LOADER_OPTIONS)) as unknown as T;
}

interface Protos {
  nodeCa: NodeCaProto;
  caAdmin: CaAdminProto;
  node: NodeProto;
}

const FILES: Record<keyof Protos, string> = {
  nodeCa: 'hitless/v1/node_ca.proto',
  caAdmin: 'hitless/v1/ca_admin.proto',
  node: 'hitless/v1/node.proto',
};
const loaded: Partial<Protos> = {};

// Each service is loaded the first time it is used, so a process loads only what it serves or calls: an agent
// never parses the admin service (ca_admin.proto), whose descriptors would sit in its memory for nothing.
const views = Object.defineProperties({} as Protos, Object.fromEntries(
  (Object.keys(FILES) as (keyof Protos)[]).map((name) => [name, { enumerable: true, get: () => (loaded[name] ??= load(FILES[name]) as never) }]),
));

/** The hitless.v1 package, per service file: service constructors and definitions, each loaded once per process. */
export function protos(): Protos {
  return views;
}

export type { NodeCaServiceClient, NodeCaServiceHandlers } from './generated/hitless/v1/NodeCaService.js';
export type { CaAdminServiceClient, CaAdminServiceHandlers } from './generated/hitless/v1/CaAdminService.js';
export type { NodeServiceClient, NodeServiceHandlers } from './generated/hitless/v1/NodeService.js';
export type { TrustBundle, TrustBundle__Output } from './generated/hitless/v1/TrustBundle.js';
export type { IssuedCertificate, IssuedCertificate__Output } from './generated/hitless/v1/IssuedCertificate.js';
export type { NodeInfo, NodeInfo__Output } from './generated/hitless/v1/NodeInfo.js';
export type { NodeRole, NodeRole__Output } from './generated/hitless/v1/NodeRole.js';
export type { WatchTrustBundleEvent, WatchTrustBundleEvent__Output } from './generated/hitless/v1/WatchTrustBundleEvent.js';
export type { HeartbeatPing, HeartbeatPing__Output } from './generated/hitless/v1/HeartbeatPing.js';
export type { HeartbeatPong, HeartbeatPong__Output } from './generated/hitless/v1/HeartbeatPong.js';
