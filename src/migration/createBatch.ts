// `batch create`: read the names, resolve every one, plan every target object, and refuse
// the whole batch, one line per problem, if anything is unknown, ambiguous, duplicated,
// already migrated or already in another batch. Nothing is created unless all is well.
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { DEFAULT_CUTOVER_SETTLE_SECONDS, MAX_CUTOVER_SETTLE_SECONDS } from '../config/migration.ts';
import type { DirectoryEntry } from '../directory/entry.ts';
import type { StateStore } from '../state/store.ts';
import { lower } from './addresses.ts';
import { batchByName, insertBatch, mailboxesByLogin, type NewMailbox } from './batchStore.ts';
import { type NameEntry, parseNameList } from './nameList.ts';
import { all, first, groupMembers, planTarget, resolveSourceName } from './resolve.ts';
import { MigrationError, type MigrationSetup, sourceStoreOfUser, targetStoreOf, withDirectories } from './setup.ts';
import { targetContainerProblems } from './targetChecks.ts';
import type { BatchOptions } from './types.ts';

export interface CreateBatchInput {
  name: string;
  /** A names file (.txt) or CSV (.csv), or a group DN. */
  from?: { file: string } | { group: string };
  targetStore: string;
  options: Partial<BatchOptions>;
}

export class BatchRefusedError extends MigrationError {
  readonly problems: string[];
  constructor(name: string, problems: string[]) {
    super('CF_ERR_BATCH_REFUSED', `batch ${name} refused, nothing was created:\n${problems.map((p) => `  ✗ ${p}`).join('\n')}`, {
      object: name,
      hint: 'fix the names file (or the directory) and run batch create again',
    });
    this.problems = problems;
  }
}

export function batchOptions(setup: MigrationSetup, o: Partial<BatchOptions>): BatchOptions {
  const d = setup.config.defaults;
  const out: BatchOptions = {
    retryIntervalSeconds: o.retryIntervalSeconds ?? d.retryIntervalSeconds,
    mailboxReadyTimeoutSeconds: o.mailboxReadyTimeoutSeconds ?? d.mailboxReadyTimeoutSeconds,
    badItemLimit: o.badItemLimit ?? d.badItemLimit,
    largeItemLimit: o.largeItemLimit ?? d.largeItemLimit,
    allowMerge: o.allowMerge ?? d.allowMerge,
    concurrency: o.concurrency ?? d.concurrency,
    cutover: o.cutover ?? d.cutover,
    windowStart: o.windowStart,
    windowStop: o.windowStop,
    completeAfter: o.completeAfter,
    workgroup: o.workgroup,
    cutoverSettleSeconds: o.cutoverSettleSeconds ?? d.cutoverSettleSeconds ?? DEFAULT_CUTOVER_SETTLE_SECONDS,
  };
  const settle = out.cutoverSettleSeconds as number;
  if (!Number.isFinite(settle) || settle < 0 || settle > MAX_CUTOVER_SETTLE_SECONDS) {
    throw new MigrationError(
      'CF_ERR_BATCH_OPTIONS',
      `the cutover settle must be 0 to ${MAX_CUTOVER_SETTLE_SECONDS} seconds, not "${settle}"`,
      {
        object: 'cutoverSettleSeconds',
        hint: `--cutover-settle <seconds>; the project default is migration.defaults.cutoverSettleSeconds (built in: ${DEFAULT_CUTOVER_SETTLE_SECONDS})`,
      },
    );
  }
  if (out.cutover === 'complete-after' && !out.completeAfter)
    throw new MigrationError('CF_ERR_BATCH_OPTIONS', 'cutover complete-after needs a time (--complete-after <ISO time>)', {
      object: 'cutover',
    });
  if (out.windowStart && out.windowStop && Date.parse(out.windowStop) <= Date.parse(out.windowStart)) {
    throw new MigrationError('CF_ERR_BATCH_OPTIONS', `the window closes (${out.windowStop}) before it opens (${out.windowStart})`, {
      object: 'window',
    });
  }
  return out;
}

export async function createBatch(
  setup: MigrationSetup,
  store: StateStore,
  input: CreateBatchInput,
): Promise<{ id: number; mailboxes: NewMailbox[] }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input.name)) {
    throw new MigrationError('CF_ERR_BATCH_NAME', `"${input.name}" is not a batch name`, {
      object: input.name,
      hint: 'letters, digits, . _ - (up to 64)',
    });
  }
  if (await batchByName(store, input.name))
    throw new MigrationError('CF_ERR_BATCH_EXISTS', `batch ${input.name} exists`, {
      object: input.name,
      hint: 'pick another name or `batch remove` it',
    });
  const storeCfg = targetStoreOf(setup, input.targetStore);
  const options = batchOptions(setup, input.options);
  if (!input.from) throw new MigrationError('CF_ERR_BATCH_NAMES', 'no names: give --from <file> or --group <DN>', { object: input.name });

  return withDirectories(setup, async (src, tgt) => {
    const blocked = await targetContainerProblems(setup, tgt.client);
    if (blocked.length) throw new BatchRefusedError(input.name, blocked);
    let entries: NameEntry[];
    let origin: string;
    const problems: string[] = [];
    if ('file' in input.from!) {
      const path = resolve(input.from.file);
      origin = path;
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new MigrationError('CF_ERR_BATCH_NAMES', `cannot read ${path}: ${(err as Error).message}`, { object: path });
      }
      const parsed = parseNameList(text, extname(path).toLowerCase() === '.csv');
      entries = parsed.entries;
      problems.push(...parsed.problems);
    } else {
      origin = input.from!.group;
      const members = await groupMembers(src.client, input.from!.group);
      if (typeof members === 'string') throw new MigrationError('CF_ERR_BATCH_NAMES', members, { object: input.from!.group });
      entries = members.map((m, i) => ({ name: m, line: i + 1, overrides: {} }));
    }
    if (entries.length === 0 && problems.length === 0) problems.push('no names in the list');
    const seenNames = new Map<string, number>();
    const seenUsers = new Map<string, string>();
    const taken = new Set<string>();
    const mailboxes: NewMailbox[] = [];
    for (const e of entries) {
      const where = `line ${e.line}`;
      const prev = seenNames.get(lower(e.name));
      if (prev !== undefined) {
        problems.push(`${where}: "${e.name}" duplicated (first on line ${prev})`);
        continue;
      }
      seenNames.set(lower(e.name), e.line);
      const r = await resolveSourceName(setup, src.client, store, e.name);
      if (typeof r === 'string') {
        problems.push(`${where}: ${r}`);
        continue;
      }
      const u: DirectoryEntry = r.entry;
      const login = first(u, setup.source.directory.loginAttribute);
      const mail = first(u, 'mail');
      const dup = seenUsers.get(lower(u.dn));
      if (dup) {
        problems.push(`${where}: "${e.name}" is the same user as "${dup}" (${u.dn}): duplicated`);
        continue;
      }
      seenUsers.set(lower(u.dn), e.name);
      if (!login) {
        problems.push(`${where}: "${e.name}" (${u.dn}) has no ${setup.source.directory.loginAttribute}`);
        continue;
      }
      if (!mail) {
        problems.push(`${where}: "${e.name}" (${u.dn}) has no mail address: nothing to route to`);
        continue;
      }
      const elsewhere = await mailboxesByLogin(store, login);
      if (elsewhere.length) {
        problems.push(`${where}: "${e.name}" is already in batch ${elsewhere.map((m) => `${m.batchName} (${m.state})`).join(', ')}`);
        continue;
      }
      if (all(u, 'homeMDB').length === 0) {
        problems.push(
          all(u, 'targetAddress').length
            ? `${where}: "${e.name}" is already migrated (mail-enabled, targetAddress ${first(u, 'targetAddress')})`
            : `${where}: "${e.name}" has no mailbox (no homeMDB)`,
        );
        continue;
      }
      // Its mail server, from the directory: a user on a server the project does not know is refused.
      const server = sourceStoreOfUser(setup, { homeMDB: first(u, 'homeMDB'), homeServerName: first(u, 'msExchHomeServerName') });
      if (typeof server === 'string') {
        problems.push(`${where}: "${e.name}" (${u.dn}): ${server}`);
        continue;
      }
      const planned = await planTarget(setup, tgt.client, store, { source: u, overrides: e.overrides, taken });
      if (typeof planned === 'string') {
        problems.push(`${where}: ${planned}`);
        continue;
      }
      const plan = { ...planned, sourceStore: server.name };
      if (plan.existingUser) {
        // A target user that already has a mailbox on another store would split the mailbox.
        // ldapts gives an absent attribute as [] on some servers (Samba): no value is no mailbox.
        const home = await tgt.client
          .search(plan.targetDn, { scope: 'base', attributes: ['homeMDB'] })
          .then((x) => [x.searchEntries[0]?.homeMDB ?? []].flat().map(String)[0])
          .catch(() => undefined);
        if (home && lower(home) !== lower(storeCfg.homeMDB)) {
          problems.push(
            `${where}: "${e.name}": target user ${plan.targetDn} has a mailbox on another store (${String(home)}): a move there would split the mailbox`,
          );
          continue;
        }
      }
      mailboxes.push({ name: e.name, sourceDn: u.dn, sourceLogin: login, sourceMail: mail, plan });
    }
    if (problems.length) throw new BatchRefusedError(input.name, problems);
    const id = await insertBatch(
      store,
      { name: input.name, sourceOrg: setup.sourceId, targetOrg: setup.targetId, targetStore: input.targetStore, options, origin },
      mailboxes,
    );
    return { id, mailboxes };
  });
}
