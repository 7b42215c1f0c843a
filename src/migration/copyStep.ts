// Copy and delta passes: the copy engine (src/mail/copyMailbox) with the batch's limits,
// ACL identities translated from source to target logins, merge refused unless allowed.

import { ldapFilter } from '../directory/escape.ts';
import { searchEntries } from '../directory/import.ts';
import { COPY_LEASE_TTL_MS, copyMailbox } from '../mail/copyMailbox.ts';
import { folderStates } from '../mail/copyState.ts';
import type { CopyReport, IdentityMap } from '../mail/types.ts';
import type { StateStore } from '../state/store.ts';
import { lower, smtpOf } from './addresses.ts';
import { allBatches, mailboxesOf } from './batchStore.ts';
import { failpoint } from './failpoint.ts';
import { MigrationError, type MigrationSetup, migrationDirectory } from './setup.ts';
import { copyOptions, endpoints, type StepContext } from './stepContext.ts';
import type { MailboxRow } from './types.ts';

/**
 * Source ACL identifier → target login. First the mailboxes our batches pre-staged
 * (source login and source addresses → target login); then target users that carry a
 * source address as a proxy (people moved by an earlier tool or by hand).
 */
export async function identityMap(setup: MigrationSetup, store: StateStore): Promise<IdentityMap> {
  const map = new Map<string, string>();
  for (const b of await allBatches(store)) {
    for (const m of await mailboxesOf(store, b.id)) {
      if (m.state === 'queued' || (m.state === 'failed' && m.resumeState === 'queued')) continue;
      map.set(lower(m.sourceLogin), m.plan.targetLogin);
      map.set(lower(m.sourceMail), m.plan.targetLogin);
    }
  }
  const conn = await migrationDirectory(setup, 'target');
  try {
    const login = setup.target.directory.loginAttribute;
    const filter = ldapFilter`(&(objectClass=user)(homeMDB=*)(proxyAddresses=smtp:*@${setup.source.mailDomain}))`;
    for await (const e of searchEntries(conn.client, {
      bases: [setup.target.directory.baseDn],
      filter,
      attributes: ['proxyAddresses', login],
    })) {
      const to = e.attributes[login]?.[0];
      if (!to) continue;
      for (const a of smtpOf(e.attributes.proxyAddresses ?? [])) if (!map.has(lower(a))) map.set(lower(a), to);
    }
  } finally {
    await conn.close();
  }
  return (id) => map.get(lower(id));
}

export async function copyPass(ctx: StepContext, m: MailboxRow, kind: 'copy' | 'delta'): Promise<CopyReport> {
  const ep = endpoints(ctx, m);
  if (kind === 'copy' && !ctx.batch.options.allowMerge && (await folderStates(ctx.store, m.sourceLogin, m.plan.targetLogin)).length === 0) {
    const c = await ep.target.open();
    try {
      const held = (await c.list({ statusQuery: { messages: true } })).reduce((a, l) => a + (l.status?.messages ?? 0), 0);
      if (held > 0) {
        throw new MigrationError(
          'CF_ERR_MERGE_REFUSED',
          `target mailbox ${m.plan.targetLogin} already holds ${held} messages and the batch does not allow merging`,
          {
            object: m.plan.targetLogin,
            hint: 'create the batch with --allow-merge (nothing is copied twice), or empty the target mailbox',
          },
        );
      }
    } finally {
      await c.logout().catch(() => c.close());
    }
  }
  let lastMsgs = 0;
  let lastBytes = 0;
  const report = await copyMailbox({
    ...ep,
    sourceMailbox: m.sourceLogin,
    targetMailbox: m.plan.targetLogin,
    store: ctx.store,
    options: copyOptions(ctx),
    identityMap: await identityMap(ctx.setup, ctx.store),
    logger: ctx.logger,
    // We own the mailbox (its lease): a copy lease still standing is a dead worker's.
    waitForLeaseMs: ctx.claim ? COPY_LEASE_TTL_MS + 5000 : 0,
    onProgress: (p) => {
      ctx.onCopied?.(p.copiedMessages - lastMsgs, p.copiedBytes - lastBytes);
      lastMsgs = p.copiedMessages;
      lastBytes = p.copiedBytes;
      ctx.emit({ type: 'progress', mailbox: m.sourceLogin, ...p });
    },
  });
  failpoint(`copy:${kind}`);
  return report;
}
