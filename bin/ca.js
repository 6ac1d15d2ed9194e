#!/usr/bin/env node
// `ca`: the compiled CA in an installed package, the TypeScript sources in a development checkout (launch.js).
import { launch } from './launch.js';

await launch('ca/main');
