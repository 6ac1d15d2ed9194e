// `agent`: runs the command line (agent/cli.ts) with the process's argv; bin/agent.js starts here.
import { runCli } from '../shared/cli.js';
import { program } from './cli.js';

await runCli('agent', program);
