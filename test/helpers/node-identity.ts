// A test-side node: joins and renews through the same CaClient the agent uses, holding its key in memory.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CaClient, bootstrapConnection, staticConnection } from '../../agent/ca-client.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { joinPem } from '../../shared/pki/pem.js';
import type { IssuedCertificate__Output } from '../../proto/load.js';

export interface TestNode {
  keyPem: string;
  cert: IssuedCertificate__Output;
}

export async function fetchRoots(address: string): Promise<string[]> {
  const client = new CaClient(address, bootstrapConnection());
  try {
    return (await client.getTrustBundle()).bundle!.roots_pem;
  } finally {
    client.close();
  }
}

export async function joinNode(address: string, token: string, rootsPem: string[]): Promise<TestNode> {
  const { privateKeyPem } = generateKeyPairPem();
  const client = new CaClient(address, staticConnection(rootsPem));
  try {
    return { keyPem: privateKeyPem, cert: await client.issue(token, await createCsrDer(privateKeyPem)) };
  } finally {
    client.close();
  }
}

/** Renews over mTLS with `node`'s current certificate and a fresh key. */
export async function renewNode(address: string, node: TestNode, rootsPem: string[], csrDer?: Uint8Array): Promise<TestNode> {
  const { privateKeyPem } = generateKeyPairPem();
  const client = new CaClient(address, staticConnection(rootsPem, { keyPem: node.keyPem, chainPem: node.cert.chain_pem }));
  try {
    return { keyPem: privateKeyPem, cert: await client.renew(csrDer ?? (await createCsrDer(privateKeyPem))) };
  } finally {
    client.close();
  }
}

export async function writeChain(dir: string, name: string, node: TestNode): Promise<string> {
  const file = join(dir, `${name}.pem`);
  await writeFile(file, joinPem(node.cert.chain_pem));
  return file;
}
