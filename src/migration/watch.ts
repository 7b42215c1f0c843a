// `batch wait`: the live view of a batch that workers run elsewhere, read from the state
// store alone (any host): mailbox states and steps as they change, and copy progress from
// the UID maps the copies write message by message. Ends when the batch is concluded.
import { copiedSoFar } from '../mail/copyState.ts';
import type { StateStore } from '../state/store.ts';
import { mailboxesOf, stepsOf } from './batchStore.ts';
import { batchOrThrow } from './runner.ts';
import { MigrationError } from './setup.ts';
import { sleep } from './stepContext.ts';
import type { Batch, BatchStatus, MailboxRow, RunEvent, StepName } from './types.ts';

export interface WatchResult {
  batch: Batch;
  status: BatchStatus;
  states: Record<string, number>;
  reportHtml: string | null;
}

const OPEN: readonly BatchStatus[] = ['created', 'running'];

/** What is on the target for each mailbox now (messages, bytes), from the UID maps. */
export async function copiedNow(store: StateStore, ms: MailboxRow[]): Promise<Map<number, { messages: number; bytes: number }>> {
  const byPair = await copiedSoFar(
    store,
    ms.map((m) => m.sourceLogin),
  );
  const out = new Map<number, { messages: number; bytes: number }>();
  for (const m of ms) {
    const hit = byPair.get(m.sourceLogin)?.find((p) => p.targetMailbox === m.plan.targetLogin);
    out.set(m.id, { messages: hit?.messages ?? 0, bytes: hit?.bytes ?? 0 });
  }
  return out;
}

export async function watchBatch(
  store: StateStore,
  name: string,
  opts: { emit: (e: RunEvent) => void; pollMs?: number; timeoutSeconds?: number },
): Promise<WatchResult> {
  const first = await batchOrThrow(store, name);
  if (first.status === 'created' && !first.detached)
    throw new MigrationError('CF_ERR_BATCH_NOT_STARTED', `batch ${name} has not been started`, {
      object: name,
      hint: `crossforest batch start ${name} --detach queues it for the workers; batch wait then follows it`,
    });
  const deadline = opts.timeoutSeconds ? Date.now() + opts.timeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
  const seen = new Map<number, string>();
  const baseline = new Map<number, { messages: number; bytes: number }>();
  for (;;) {
    const b = await batchOrThrow(store, name);
    const ms = await mailboxesOf(store, b.id);
    const steps = await stepsOf(store, b.id);
    const lastStep = new Map<number, { step: string; worker: string | null }>();
    for (const s of steps) lastStep.set(s.mailboxId, { step: s.step, worker: s.worker });
    const copied = await copiedNow(store, ms);
    for (const m of ms) {
      const st = lastStep.get(m.id);
      const key = `${m.state}|${st?.step ?? ''}`;
      const now = copied.get(m.id) ?? { messages: 0, bytes: 0 };
      if (seen.get(m.id) !== key) {
        seen.set(m.id, key);
        // A new step: its progress counts from here (the view's per-pass counters).
        baseline.set(m.id, now);
        opts.emit({
          type: 'state',
          mailbox: m.sourceLogin,
          state: m.state,
          ...(st ? { step: st.step as StepName } : {}),
          ...(m.error && m.state === 'failed' ? { error: m.error } : {}),
        });
      }
      const base = baseline.get(m.id) ?? now;
      if (now.messages !== base.messages)
        opts.emit({
          type: 'progress',
          mailbox: m.sourceLogin,
          copiedMessages: now.messages - base.messages,
          copiedBytes: now.bytes - base.bytes,
          totalMessages: m.messages,
          totalBytes: m.bytes,
        });
    }
    if (!OPEN.includes(b.status)) {
      opts.emit({ type: 'batch', batch: name, status: b.status });
      const states: Record<string, number> = {};
      for (const m of ms) states[m.state] = (states[m.state] ?? 0) + 1;
      return { batch: b, status: b.status, states, reportHtml: b.reportPath };
    }
    if (Date.now() > deadline)
      throw new MigrationError('CF_ERR_BATCH_WAIT_TIMEOUT', `batch ${name} is still ${b.status} after ${opts.timeoutSeconds} s`, {
        object: name,
        hint: 'are workers running? `crossforest worker` on a host that reaches the state and the mail servers takes its mailboxes',
      });
    await sleep(opts.pollMs ?? 1000);
  }
}
