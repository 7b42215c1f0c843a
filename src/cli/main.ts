// The crossforest command: parse, call a capability, print. Each command lives in
// ./commands/<name>.ts and exports `register…(program)`; nothing else happens here.
//
// Only the command being run is loaded: each command module pulls in its capability and
// their libraries (fastify, pg-boss, imapflow, mailparser…), and loading all of them cost
// every start about 0.3 s. `crossforest --help` (no command named) loads them all.
import { readFileSync } from 'node:fs';
import { Command } from '@commander-js/extra-typings';
import { sourcePath } from '../util/sourceTree.ts';
import { runCli } from './run.ts';

type Register = (program: Command<[], Record<string, unknown>>) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.ts')).registerInit,
  check: async () => (await import('./commands/check.ts')).registerCheck,
  lab: async () => (await import('./commands/lab.ts')).registerLab,
  inventory: async () => (await import('./commands/inventory.ts')).registerInventory,
  mailbox: async () => (await import('./commands/mailbox.ts')).registerMailbox,
  relay: async () => (await import('./commands/relay.ts')).registerRelay,
  audit: async () => (await import('./commands/audit.ts')).registerAudit,
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  sync: async () => (await import('./commands/sync.ts')).registerSync,
  batch: async () => (await import('./commands/batch.ts')).registerBatch,
  plan: async () => (await import('./commands/plan.ts')).registerPlan,
  worker: async () => (await import('./commands/worker.ts')).registerWorker,
};

const version = (JSON.parse(readFileSync(sourcePath('package.json'), 'utf8')) as { version: string }).version;
const program = new Command()
  .name('crossforest')
  .description('Merge two mail organizations: GAL sync, mailbox migration, coexistence, mail-flow hardening')
  .version(version, '-V, --version')
  .option('-c, --config <file>', 'project file', process.env.CROSSFOREST_CONFIG ?? 'crossforest.yaml')
  .option('--json', 'print results as JSON instead of tables')
  .option('-v, --verbose', 'log progress details to stderr');

/** The command named on the command line (the first word that is not an option or -c's value), if any. */
function commandNamed(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-c' || a === '--config') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

const argv = process.argv.slice(2);
const named = commandNamed(argv);
const versionOnly = named === undefined && (argv.includes('-V') || argv.includes('--version'));
const chosen = versionOnly ? [] : named && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const register of await Promise.all(chosen.map((n) => (COMMANDS[n] as () => Promise<Register>)()))) register(program);

await runCli(program);
