// Preloaded into a process under test (NODE_OPTIONS=--import <this file>) to list what it has loaded, from
// outside the code under test: every ES module URL that resolves (a loader hook, registered before the
// program's own tsx hooks, so it sees their results), every CommonJS module in the require cache (packages
// like grpc-js load their files there), and every .proto file read from disk (protobufjs reads them with
// fs.readFileSync). On SIGUSR2 it prints one JSON line, {"event":"debug.modules", esm, cjs, files}, which
// the test reads like any other log event. Plain JavaScript: it runs before tsx is registered.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const esm = new Set();
const files = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => esm.add(url));
port1.unref();
register('./module-list-loader.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });

const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (typeof path === 'string' && path.endsWith('.proto')) files.add(path);
  return readFileSync.call(this, path, ...rest);
};

process.on('SIGUSR2', () => {
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  process.stdout.write(JSON.stringify({ event: 'debug.modules', esm: [...esm], cjs, files: [...files] }) + '\n');
});
