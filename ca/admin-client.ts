// The operator's side of the admin API. Two ways to reach a running `ca serve`:
//  - on the CA host, its Unix socket in the state dir (whoever can open the 0600 socket is the CA's operator);
//  - from anywhere, its TLS port (`--ca HOST:PORT`) with an operator credential made by `ca operator create`
//    (`--operator-dir DIR`: operator.key, operator.crt, ca.crt), verified like any CA connection: the server
//    must chain to ca.crt and present the name `hitless-ca`.
// Neither opens the store (LevelDB allows one process, and it is the CA's).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HitlessError } from '../shared/errors.js';
import { unaryCall } from '../shared/grpc/call.js';
import { CA_SERVER_NAME } from '../shared/identity.js';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { protos, type CaAdminServiceClient } from '../proto/load.js';
import { statePaths } from './config.js';

/** What `ca operator create --out DIR` writes, and `--operator-dir DIR` reads. */
export const OPERATOR_FILES = { cert: 'operator.crt', key: 'operator.key', roots: 'ca.crt' } as const;

const caServerIdentityCheck = (_host: string, cert: PeerCertificate): Error | undefined => checkServerIdentity(CA_SERVER_NAME, cert);

/** Where admin commands go: the local socket of `stateDir`, or the CA port `ca` with the credential in `operatorDir`. */
export interface AdminTarget {
  stateDir: string;
  ca?: string;
  operatorDir?: string;
}

export async function adminClient(target: AdminTarget | string): Promise<CaAdminServiceClient> {
  const t = typeof target === 'string' ? { stateDir: target } : target;
  if (t.ca !== undefined) return remoteAdminClient(t.ca, t.operatorDir);
  if (t.operatorDir !== undefined) {
    throw new HitlessError('INVALID_ARGUMENT', '--operator-dir is for the CA port: give --ca HOST:PORT too', {
      hint: 'without --ca, admin commands use the local admin socket of --state-dir',
    });
  }
  const socket = statePaths(t.stateDir).adminSocket;
  const isSocket = await stat(socket).then((s) => s.isSocket(), () => false);
  if (!isSocket) {
    throw new HitlessError('UNAVAILABLE', `no CA is serving ${t.stateDir} (no admin socket at ${socket})`, {
      hint: `start it with 'ca serve --state-dir ${t.stateDir}', or reach a remote CA with --ca HOST:PORT --operator-dir DIR`,
    });
  }
  const { CaAdminService } = protos().caAdmin.hitless.v1;
  return new CaAdminService(`unix:${socket}`, grpc.credentials.createInsecure());
}

async function remoteAdminClient(address: string, operatorDir: string | undefined): Promise<CaAdminServiceClient> {
  if (!/^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(address)) {
    throw new HitlessError('INVALID_ARGUMENT', `--ca takes HOST:PORT, got "${address.slice(0, 64)}"`, { hint: 'the address agents use, e.g. --ca ca.example.net:7468' });
  }
  if (!operatorDir) {
    throw new HitlessError('INVALID_ARGUMENT', '--ca needs an operator credential: give --operator-dir DIR', {
      hint: "make one on the CA host with 'ca operator create <name> --out DIR' and copy DIR to this machine",
    });
  }
  const file = (name: string) => join(operatorDir, name);
  const keyPath = file(OPERATOR_FILES.key);
  const keyMode = await stat(keyPath).then((s) => s.mode & 0o777, (err: NodeJS.ErrnoException) => {
    throw new HitlessError('INVALID_ARGUMENT', `cannot read the operator key ${keyPath}: ${err.code ?? err.message}`, {
      hint: `--operator-dir is the directory 'ca operator create <name> --out DIR' wrote (${Object.values(OPERATOR_FILES).join(', ')})`,
    });
  });
  // As ssh does with a private key: a key others can read is not used.
  if (keyMode & 0o077) {
    throw new HitlessError('INVALID_ARGUMENT', `the operator key ${keyPath} is readable by group or others (mode ${keyMode.toString(8).padStart(4, '0')})`, {
      hint: `chmod 600 ${keyPath}`,
    });
  }
  const [key, cert, roots] = await Promise.all([keyPath, file(OPERATOR_FILES.cert), file(OPERATOR_FILES.roots)].map((p) =>
    readFile(p).catch((err: NodeJS.ErrnoException) => {
      throw new HitlessError('INVALID_ARGUMENT', `cannot read ${p}: ${err.code ?? err.message}`, { hint: 'copy the whole --out directory of ca operator create' });
    }),
  ));
  const { CaAdminService } = protos().caAdmin.hitless.v1;
  return new CaAdminService(address, grpc.credentials.createSsl(roots!, key!, cert!, { checkServerIdentity: caServerIdentityCheck }), {
    'grpc.ssl_target_name_override': CA_SERVER_NAME,
  });
}

/** Calls one unary admin RPC, with a hint when nobody answers. */
export async function call<Res>(fn: (opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown): Promise<Res> {
  try {
    return await unaryCall(fn);
  } catch (err) {
    // A transport failure (a refusal the CA sent itself arrives as a HitlessError with its own message).
    if ((err as { code?: unknown }).code === grpc.status.UNAVAILABLE) {
      throw new HitlessError('UNAVAILABLE', `the CA did not answer: ${(err as grpc.ServiceError).details}`, {
        cause: err,
        hint: "is 'ca serve' still running? Locally a stale admin.sock is replaced when it starts; with --ca, check the address, the port and that ca.crt in --operator-dir is this cluster's",
      });
    }
    throw err;
  }
}
