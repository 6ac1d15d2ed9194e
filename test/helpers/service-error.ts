// A ServiceError as grpc-js delivers it to a client, for unit tests of code that classifies failures; with
// `hitless`, carrying our error code in the metadata like the CA's handlers send it (shared/grpc/status.ts).
import { Metadata, status } from '@grpc/grpc-js';
import { ERROR_CODE_METADATA } from '../../shared/grpc/status.js';

export function serviceError(code: status, details: string, hitless?: string): Error & { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (hitless) metadata.set(ERROR_CODE_METADATA, hitless);
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}
