// gRPC server reflection (v1 and v1alpha) from @grpc/reflection, apart from health.ts so that a process that
// serves health but not reflection (the agent) never loads @grpc/reflection and its own proto-loader.
import type * as grpc from '@grpc/grpc-js';
import { dirname, relative, resolve } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { PROTO_DIR } from '../../proto/load.js';

/**
 * Server reflection (v1 and v1alpha) for the given .proto files of ours plus the health service, so that
 * grpcurl-style tools can list and describe the API without the .proto files.
 */
export function addReflection(server: grpc.Server, protoFiles: string[]): void {
  // health.proto by its import path (not absolute), so reflection names the file as the package does.
  const healthRoot = resolve(dirname(healthProtoPath), '../..');
  const def = protoLoader.loadSync([...protoFiles, relative(healthRoot, healthProtoPath)], { includeDirs: [PROTO_DIR, healthRoot] });
  new ReflectionService(def).addToServer(server);
}
