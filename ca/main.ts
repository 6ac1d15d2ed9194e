// `ca`: runs the command line (ca/cli.ts) with the process's argv; bin/ca.js starts here.
import { runCli } from '../shared/cli.js';
import { program } from './cli.js';

await runCli('ca', program);
