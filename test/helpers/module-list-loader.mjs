// Loader half of module-list-hook.mjs (runs on Node's loader thread): reports every module URL that resolves.
let port;

export function initialize(data) {
  port = data.port;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  port.postMessage(result.url);
  return result;
}
