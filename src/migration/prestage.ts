// Pre-stage ("perform your AD work ahead of schedule"): the target object becomes a
// mail-enabled user with every source address and the source's X500, the target's
// legacyExchangeDN goes back to the source as X500, the GAL-sync contact (if any) is
// replaced by the user (AD cannot change an object's class), then the user is
// mailbox-enabled on the target store with the store's configured attributes and we wait
// until the store serves it. In Active Directory the user is AD's own `user` with a
// generated initial password (initialPassword.ts), enabled or not as configured. Every
// write is a replace computed from what is there now, so running it again after a crash at
// any point converges on the same objects.
import type { Client } from 'ldapts';
import { type AttributeChange, addEntry, deleteEntry, modifyEntry, setAdPassword } from '../directory/export.ts';
import { readEntry } from '../directory/import.ts';
import { hasAll, lower, targetProxies, withProxies } from './addresses.ts';
import { failpoint } from './failpoint.ts';
import { initialPasswordFor } from './initialPassword.ts';
import { mailboxAttributeNames, mailboxEnableChanges, targetIsAd, userClasses } from './mailboxAttributes.ts';
import { waitUntilServed } from './mailboxReady.ts';
import { all, first, USER_ATTRIBUTES } from './resolve.ts';
import { MigrationError, withDirectories } from './setup.ts';
import { endpoints, type StepContext } from './stepContext.ts';
import type { MailboxRow } from './types.ts';

/** userAccountControl: NORMAL_ACCOUNT (512), + ACCOUNTDISABLE (2). */
const UAC_NORMAL = 0x200;
const UAC_DISABLED = 0x2;

/** The directory half: target user with addresses, contact gone, X500 both ways. */
export async function prestageDirectory(ctx: StepContext, m: MailboxRow, src: Client, tgt: Client): Promise<void> {
  const p = m.plan;
  const copyPassword = ctx.setup.config.copyPasswordHash;
  const source = await readEntry(src, m.sourceDn, copyPassword ? [...USER_ATTRIBUTES, 'userPassword'] : USER_ATTRIBUTES);
  if (!source)
    throw new MigrationError('CF_ERR_PRESTAGE', `source user ${m.sourceDn} is gone`, {
      object: m.sourceDn,
      hint: 'remove it from the batch (batch remove, then create the batch again)',
    });
  let user = await readEntry(tgt, p.targetDn, USER_ATTRIBUTES);
  const contact = p.contactDn ? await readEntry(tgt, p.contactDn, USER_ATTRIBUTES) : undefined;
  const existing = [
    ...all(user, 'proxyAddresses'),
    ...all(contact, 'proxyAddresses'),
    ...(first(contact, 'mail') ? [`smtp:${first(contact, 'mail')}`] : []),
  ];
  const proxies = targetProxies({
    targetPrimary: p.targetPrimary,
    sourceProxies: all(source, 'proxyAddresses'),
    sourceMail: m.sourceMail,
    sourceLegacyExchangeDn: p.sourceLegacyExchangeDn,
    existing,
  });
  // Until cutover, mail for this user in the target organization still goes to the source mailbox.
  const routing = all(user, 'homeMDB').length && p.existingUser ? [] : [`SMTP:${m.sourceMail}`];
  const ad = targetIsAd(ctx.setup);
  if (!user) {
    // AD derives cn from the RDN (a cn that differs, as with "Name (sam)", is refused) and sets a password only by unicodePwd.
    const { cn, ...display } = p.display;
    await addEntry(tgt, p.targetDn, {
      objectClass: userClasses(ctx.setup),
      ...(ad ? display : { ...display, ...(cn ? { cn } : {}) }),
      sn: p.display.sn ?? [p.targetSam],
      sAMAccountName: [p.targetSam],
      userPrincipalName: [p.targetLogin],
      mail: [p.targetPrimary],
      mailNickname: [p.targetSam],
      proxyAddresses: proxies,
      legacyExchangeDN: [p.targetLegacyExchangeDn],
      targetAddress: routing,
      // Created disabled in AD: the password and the enabling follow (adAccount), so a crash in between is re-run safely.
      ...(ad ? { userAccountControl: [String(UAC_NORMAL | UAC_DISABLED)] } : {}),
      userPassword: copyPassword && !ad ? all(source, 'userPassword') : [],
    }).catch(async (err: unknown) => {
      if ((err as { ldapCode?: number }).ldapCode !== 68) throw err; // Entry Already Exists: a concurrent or earlier run
    });
    user = await readEntry(tgt, p.targetDn, USER_ATTRIBUTES);
  }
  if (ad && !p.existingUser) await adAccount(ctx, m, tgt, first(user, 'userAccountControl'));
  const changes: AttributeChange[] = [];
  if (!hasAll(all(user, 'proxyAddresses'), proxies))
    changes.push({ attribute: 'proxyAddresses', values: withProxies(proxies, all(user, 'proxyAddresses')) });
  if (!first(user, 'legacyExchangeDN')) changes.push({ attribute: 'legacyExchangeDN', values: [p.targetLegacyExchangeDn] });
  if (!first(user, 'mail')) changes.push({ attribute: 'mail', values: [p.targetPrimary] });
  if (copyPassword && !ad && !p.existingUser && all(source, 'userPassword').length && !all(user, 'userPassword').length)
    changes.push({ attribute: 'userPassword', values: all(source, 'userPassword') });
  if (!p.existingUser && !all(user, 'homeMDB').length && !all(user, 'targetAddress').length)
    changes.push({ attribute: 'targetAddress', values: routing });
  await modifyEntry(tgt, p.targetDn, changes);
  failpoint('prestage:user');
  if (p.contactDn) await deleteEntry(tgt, p.contactDn);
  // Cross-pollination: the source learns the target's legacyExchangeDN (replies to the new mailbox's items).
  const x500 = `X500:${p.targetLegacyExchangeDn}`;
  const srcProxies = all(source, 'proxyAddresses');
  if (!srcProxies.some((a) => lower(a) === lower(x500)))
    await modifyEntry(src, m.sourceDn, [{ attribute: 'proxyAddresses', values: withProxies(srcProxies, [x500]) }]);
}

/**
 * The AD account of a user pre-stage created: its initial password (sealed in the state store
 * first, so a re-run sets the same one), then enabled when configured. Left disabled, it has
 * no password: the administrator enables it (and the Dovecot master user reads it all the same).
 */
async function adAccount(ctx: StepContext, m: MailboxRow, tgt: Client, uac: string | undefined): Promise<void> {
  if (!ctx.setup.config.targetUsers.enabled) return;
  const flags = Number(uac ?? UAC_NORMAL | UAC_DISABLED);
  if (!(flags & UAC_DISABLED)) return; // enabled already: its password was set then (or by an administrator since)
  await setAdPassword(tgt, m.plan.targetDn, await initialPasswordFor(ctx.setup, ctx.store, m.id));
  failpoint('prestage:password');
  await modifyEntry(tgt, m.plan.targetDn, [{ attribute: 'userAccountControl', values: [String(flags & ~UAC_DISABLED)] }]);
}

/** Mailbox-enables the target user and waits until the store serves it (a wait, not an error). */
export async function enableAndWait(ctx: StepContext, m: MailboxRow, tgt: Client): Promise<number> {
  const user = await readEntry(tgt, m.plan.targetDn, mailboxAttributeNames(ctx.targetStore));
  await modifyEntry(tgt, m.plan.targetDn, mailboxEnableChanges(ctx.targetStore, user));
  failpoint('prestage:enabled');
  const endpoint = endpoints(ctx, m).target;
  return waitUntilServed(ctx, endpoint, {
    mailbox: m.sourceLogin,
    what: `target store serves ${m.plan.targetLogin}`,
    timedOut: (err, seconds) =>
      new MigrationError(
        'CF_ERR_MAILBOX_NOT_READY',
        `the target store has not served ${m.plan.targetLogin} within ${seconds} s after mailbox-enabling (${err.message})`,
        {
          object: m.plan.targetLogin,
          hint: 'check that the store reads homeMDB users from the directory (lab: Dovecot userdb filter); batch retry-failed waits again',
        },
      ),
  });
}

export async function prestage(ctx: StepContext, m: MailboxRow): Promise<{ polls: number }> {
  return withDirectories(ctx.setup, async (src, tgt) => {
    await prestageDirectory(ctx, m, src.client, tgt.client);
    return { polls: await enableAndWait(ctx, m, tgt.client) };
  });
}
