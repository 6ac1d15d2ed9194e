#!/usr/bin/env node
// `agent`: the compiled agent in an installed package, the TypeScript sources in a development checkout (launch.js).
import { launch } from './launch.js';

await launch('agent/main');
