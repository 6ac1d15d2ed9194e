// Which code `ca` and `agent` run. An installed package has only the compiled JavaScript in dist/ and runs it.
// A development checkout (the TypeScript sources beside bin/ and tsx installed) runs the sources through tsx,
// so an edit is live at once and a forgotten `npm run build` can never run stale code in tests or the demo.
// HITLESS_FROM=dist or HITLESS_FROM=sources overrides the choice (`npm run bench` builds and runs dist).
import { existsSync } from 'node:fs';

/** `entry` is a module path without extension relative to the package root, e.g. 'ca/main'. */
export async function launch(entry) {
  const compiled = new URL(`../dist/${entry}.js`, import.meta.url);
  const source = new URL(`../${entry}.ts`, import.meta.url);
  const from = process.env.HITLESS_FROM;
  if (from !== undefined && from !== 'dist' && from !== 'sources') {
    fail(`HITLESS_FROM must be "dist" or "sources", got "${from.slice(0, 20)}"`, 'unset it to let the package decide');
  }
  if (from === 'dist' || (from === undefined && !existsSync(source))) {
    if (!existsSync(compiled)) fail(`${compiled.pathname} is missing`, 'run `npm run build` in the package directory');
    return import(compiled.href);
  }
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    if (from === undefined && existsSync(compiled)) return import(compiled.href); // sources without dev tools
    fail('running the TypeScript sources needs tsx (a devDependency)', 'run `npm ci` for a development checkout, or `npm run build`');
  }
  tsx.register();
  return import(source.href);
}

function fail(message, hint) {
  process.stderr.write(`hitless: ${message}\nhint: ${hint}\n`);
  process.exit(1);
}
