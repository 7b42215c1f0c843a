// The crossforest command: parse, call a capability, print. Each command lives in
// ./commands/<name>.ts and exports `register(program)`; nothing else happens here.
import { Command } from '@commander-js/extra-typings';
import { registerAudit } from './commands/audit.ts';
import { registerBatch } from './commands/batch.ts';
import { registerCheck } from './commands/check.ts';
import { registerInit } from './commands/init.ts';
import { registerInventory } from './commands/inventory.ts';
import { registerLab } from './commands/lab.ts';
import { registerMailbox } from './commands/mailbox.ts';
import { registerPlan } from './commands/plan.ts';
import { registerRelay } from './commands/relay.ts';
import { registerServe } from './commands/serve.ts';
import { registerSync } from './commands/sync.ts';
import { registerWorker } from './commands/worker.ts';
import { runCli } from './run.ts';

const program = new Command()
  .name('crossforest')
  .description('Merge two mail organizations: GAL sync, mailbox migration, coexistence, mail-flow hardening')
  .option('-c, --config <file>', 'project file', process.env.CROSSFOREST_CONFIG ?? 'crossforest.yaml')
  .option('--json', 'print results as JSON instead of tables')
  .option('-v, --verbose', 'log progress details to stderr');

registerInit(program);
registerCheck(program);
registerLab(program);
registerInventory(program);
registerMailbox(program);
registerRelay(program);
registerAudit(program);
registerServe(program);
registerSync(program);
registerBatch(program);
registerPlan(program);
registerWorker(program);

await runCli(program);
