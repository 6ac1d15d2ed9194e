// The only place that configures @peculiar/x509's crypto. x509 v2 resolves its dependencies through
// tsyringe, which needs the Reflect metadata polyfill loaded before x509 itself is evaluated.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Crypto } from '@peculiar/webcrypto';

/** WebCrypto used for all x509 operations (measured slightly faster for x509's pattern than Node's). */
export const webcrypto: globalThis.Crypto = new Crypto() as unknown as globalThis.Crypto;
x509.cryptoProvider.set(webcrypto);

export { x509 };
