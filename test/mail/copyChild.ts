// Runs one copy in its own process for the kill -9 test (not a test file itself):
// `node --import tsx test/mail/copyChild.ts <source> <target> <state location as JSON> <msgs/s>`.
// Prints "copied N" lines so the parent knows when to kill it, and its peak RSS (KiB) at the end.

import type { StateLocation } from '../../src/config/state.ts';
import { copyMailbox } from '../../src/mail/copyMailbox.ts';
import { openState } from '../../src/state/store.ts';
import { copyInput, mailLab } from './fixtures.ts';

const [source, target, stateJson, rate] = process.argv.slice(2) as [string, string, string, string];
const lab = await mailLab();
const store = await openState(JSON.parse(stateJson) as StateLocation, '/');
await copyMailbox({
  ...copyInput(lab, store, source, target, { maxMessagesPerSecond: Number(rate), concurrency: 1 }),
  onProgress: (p) => process.stdout.write(`copied ${p.copiedMessages}\n`),
});
// Peak resident memory of this process, for the flat-memory test.
process.stdout.write(`maxrss ${process.resourceUsage().maxRSS}\ndone\n`);
await store.close();
