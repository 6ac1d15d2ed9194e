// The operator's side of the admin API: commands on the CA host talk to the running `ca serve` over its
// Unix socket. They never open the store (LevelDB allows one process, and it is the CA's).
import { stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { HitlessError } from '../shared/errors.js';
import { unaryCall } from '../shared/grpc/call.js';
import { protos, type CaAdminServiceClient } from '../proto/load.js';
import { statePaths } from './config.js';

export async function adminClient(stateDir: string): Promise<CaAdminServiceClient> {
  const socket = statePaths(stateDir).adminSocket;
  const isSocket = await stat(socket).then((s) => s.isSocket(), () => false);
  if (!isSocket) {
    throw new HitlessError('UNAVAILABLE', `no CA is serving ${stateDir} (no admin socket at ${socket})`, {
      hint: `start it with 'ca serve --state-dir ${stateDir}'`,
    });
  }
  const { CaAdminService } = protos().caAdmin.hitless.v1;
  return new CaAdminService(`unix:${socket}`, grpc.credentials.createInsecure());
}

/** Calls one unary admin RPC, with a hint when the socket is there but nobody answers. */
export async function call<Res>(fn: (opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown): Promise<Res> {
  try {
    return await unaryCall(fn);
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.UNAVAILABLE) {
      throw new HitlessError('UNAVAILABLE', `the CA's admin socket did not answer: ${(err as grpc.ServiceError).details}`, {
        cause: err,
        hint: "is 'ca serve' still running? A stale admin.sock is replaced when it starts",
      });
    }
    throw err;
  }
}
