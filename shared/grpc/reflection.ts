// gRPC server reflection (v1 and v1alpha) from @grpc/reflection, apart from health.ts so that a process that
// serves health but not reflection (the agent) never loads @grpc/reflection and its own proto-loader.
//
// Built on the first reflection call, not at start: building it (loading @grpc/reflection and its two
// reflection.proto files, parsing our .proto files again, decoding and indexing their descriptors twice) costs
// ~110 ms of CPU, a tenth of a CA start, for a service that only operators' tools (grpcurl) call. The methods are
// registered at start with the real paths and streaming kinds; their (de)serializers and handler build the
// real service when first used, so a reflection call at any time gets the full answer.
import type * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { PROTO_DIR } from '../../proto/load.js';

const VERSIONS = ['v1', 'v1alpha'] as const;
const methodPath = (v: (typeof VERSIONS)[number]) => `/grpc.reflection.${v}.ServerReflection/ServerReflectionInfo`;

type Method = { definition: grpc.MethodDefinition<unknown, unknown>; handler: grpc.handleBidiStreamingCall<unknown, unknown> };

/** The real service: @grpc/reflection's methods by path (CommonJS packages, so they load synchronously here). */
function build(protoFiles: string[]): Map<string, Method> {
  const require = createRequire(import.meta.url);
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const { protoPath: healthProtoPath } = require('grpc-health-check') as typeof import('grpc-health-check');
  const { ReflectionService } = require('@grpc/reflection') as typeof import('@grpc/reflection');
  // health.proto by its import path (not absolute), so reflection names the file as the package does.
  const healthRoot = resolve(dirname(healthProtoPath), '../..');
  const def = protoLoader.loadSync([...protoFiles, relative(healthRoot, healthProtoPath)], { includeDirs: [PROTO_DIR, healthRoot] });
  const methods = new Map<string, Method>();
  const capture = {
    addService(service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) {
      for (const [name, definition] of Object.entries(service)) {
        methods.set(definition.path, { definition, handler: impl[name] as grpc.handleBidiStreamingCall<unknown, unknown> });
      }
    },
  };
  new ReflectionService(def).addToServer(capture as Pick<grpc.Server, 'addService'> as grpc.Server);
  for (const v of VERSIONS) if (!methods.has(methodPath(v))) throw new Error(`@grpc/reflection did not provide ${methodPath(v)}`);
  return methods;
}

/**
 * Server reflection (v1 and v1alpha) for the given .proto files of ours plus the health service, so that
 * grpcurl-style tools can list and describe the API without the .proto files.
 */
export function addReflection(server: grpc.Server, protoFiles: string[]): void {
  let methods: Map<string, Method> | undefined;
  const real = (path: string): Method => (methods ??= build(protoFiles)).get(path)!;
  for (const v of VERSIONS) {
    const path = methodPath(v);
    const definition: grpc.MethodDefinition<unknown, unknown> = {
      path,
      requestStream: true,
      responseStream: true,
      originalName: 'serverReflectionInfo',
      requestSerialize: (m) => real(path).definition.requestSerialize(m),
      requestDeserialize: (b) => real(path).definition.requestDeserialize(b),
      responseSerialize: (m) => real(path).definition.responseSerialize(m),
      responseDeserialize: (b) => real(path).definition.responseDeserialize(b),
    };
    server.addService({ ServerReflectionInfo: definition }, { ServerReflectionInfo: (call: grpc.ServerDuplexStream<unknown, unknown>) => real(path).handler(call) });
  }
}
