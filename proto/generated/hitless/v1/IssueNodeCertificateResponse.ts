// Original file: hitless/v1/node_ca.proto

import type { IssuedCertificate as _hitless_v1_IssuedCertificate, IssuedCertificate__Output as _hitless_v1_IssuedCertificate__Output } from '../../hitless/v1/IssuedCertificate.js';

export interface IssueNodeCertificateResponse {
  'certificate'?: (_hitless_v1_IssuedCertificate | null);
}

export interface IssueNodeCertificateResponse__Output {
  'certificate': (_hitless_v1_IssuedCertificate__Output | null);
}
