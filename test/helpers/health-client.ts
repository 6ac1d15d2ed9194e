// A plain grpc-js client of grpc.health.v1.Health (as a load balancer or grpcurl would use it), for the tests
// of health on real servers.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

export type HealthClient = grpc.Client & {
  check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

export const Health = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => HealthClient;

/** One Check of `service` ('' = the whole server); resolves with its status, rejects with the call's error. */
export const checkHealth = (c: HealthClient, service = '', deadlineMs = 10_000) =>
  new Promise<string>((resolve, reject) =>
    c.check({ service }, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res!.status))),
  );
