// Starting a worker thread on one of our modules. Our sources are TypeScript run through tsx, whose loader
// worker threads do not inherit: such a thread starts as JavaScript and imports the module through tsx's API.
// Compiled output (.js) loads directly.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `moduleUrl` is the worker module's URL as seen from the caller (`new URL('./x.ts', import.meta.url)`). */
export function startModuleWorker(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  const boot = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(moduleUrl.href)}, ${JSON.stringify(moduleUrl.href)}))`;
  return new Worker(boot, { ...options, eval: true });
}
