// `crossforest inventory [org…]`: what each organization holds, directory and mail store.
import type { Command } from '@commander-js/extra-typings';
import { inventoryOrganization, type OrganizationInventory } from '../../migration/inventory.ts';
import { commandContext } from '../context.ts';
import { formatBytes, printJson, printTable, progress } from '../output.ts';

export function registerInventory(program: Command<[], Record<string, unknown>>): void {
  program
    .command('inventory')
    .description('count what each organization holds: directory objects per class, mailboxes, folders, messages, bytes')
    .argument('[orgs...]', 'organization ids (default: all)')
    .option('--mailboxes', 'list every mailbox, not only the totals')
    .action(async (orgs, opts, cmd) => {
      const ctx = commandContext(cmd);
      const ids = orgs.length > 0 ? orgs : Object.keys(ctx.project.config.organizations);
      const results: OrganizationInventory[] = [];
      for (const id of ids) {
        const started = Date.now();
        results.push(
          await inventoryOrganization(ctx.project, id, {
            logger: ctx.logger,
            onMailbox: (done, total) => {
              if (done % 10 === 0 || done === total)
                progress(
                  `inventory ${id}: ${done}/${total} mailboxes (${((done * 1000) / Math.max(1, Date.now() - started)).toFixed(1)}/s)`,
                );
            },
          }),
        );
      }
      if (ctx.json) return printJson(results);
      printTable(results, [
        { header: 'org', value: (r) => `${r.organization} (${r.displayName})` },
        { header: 'users', value: (r) => r.objectsByClass.user ?? 0, align: 'right' },
        { header: 'groups', value: (r) => r.objectsByClass.group ?? 0, align: 'right' },
        { header: 'contacts', value: (r) => r.objectsByClass.contact ?? 0, align: 'right' },
        { header: 'mail-enabled', value: (r) => r.mailEnabledUsers, align: 'right' },
        { header: 'mailboxes', value: (r) => r.totals.mailboxes, align: 'right' },
        { header: 'folders', value: (r) => r.totals.folders, align: 'right' },
        { header: 'messages', value: (r) => r.totals.messages, align: 'right' },
        { header: 'size', value: (r) => formatBytes(r.totals.bytes), align: 'right' },
        { header: 'unreadable', value: (r) => r.totals.unreadable, align: 'right' },
      ]);
      if (opts.mailboxes) {
        for (const r of results) {
          printTable(r.mailboxes, [
            { header: `${r.organization} mailbox`, value: (m) => m.login },
            { header: 'folders', value: (m) => m.folders, align: 'right' },
            { header: 'messages', value: (m) => m.messages, align: 'right' },
            { header: 'size', value: (m) => formatBytes(m.bytes), align: 'right' },
            { header: 'error', value: (m) => m.error },
          ]);
        }
      }
      for (const r of results)
        for (const m of r.mailboxes.filter((x) => x.error)) process.stderr.write(`✗ ${r.organization} ${m.login}: ${m.error}\n`);
    });
}
