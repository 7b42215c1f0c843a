// `crossforest mailbox copy <source-user> <target-user>` and `mailbox verify`: thin
// wrappers around src/mail (copyMailbox, verifyMailbox) and src/calendar (the calendars,
// tasks and address books, when both organizations have a calendar server).
import { writeFileSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { type CalendarCopyReport, calendarServers, copyCalendars, verifyCalendars } from '../../calendar/index.ts';
import { copyMailbox } from '../../mail/copyMailbox.ts';
import { projectCopyEndpoints } from '../../mail/endpoint.ts';
import { configuredLimits } from '../../mail/storeThrottle.ts';
import type { CopyReport, ThrottleReport } from '../../mail/types.ts';
import { verifyMailbox } from '../../mail/verify.ts';
import { type CommandContext, commandContext } from '../context.ts';
import { formatBytes, printJson, printTable, progress } from '../output.ts';

/** The two mailboxes' endpoints from the shared --from/--to/--source-server/--target-server options. */
function endpointsOf(
  ctx: CommandContext,
  sourceUser: string,
  targetUser: string,
  opts: { from?: string; to?: string; sourceServer?: string; targetServer?: string },
) {
  return projectCopyEndpoints(ctx.project, sourceUser, targetUser, {
    from: opts.from,
    to: opts.to,
    fromServer: opts.sourceServer,
    toServer: opts.targetServer,
    logger: ctx.logger,
  });
}

export function registerMailbox(program: Command<[], Record<string, unknown>>): void {
  const mailbox = program.command('mailbox').description('copy and verify mailboxes between the organizations');
  mailbox
    .command('copy')
    .description('copy one mailbox (every folder, message, flag, keyword, date, subscription, ACL); a re-run copies only what changed')
    .argument('<source-user>', 'login of the source mailbox (userPrincipalName)')
    .argument('<target-user>', 'login of the target mailbox')
    .option('--from <org>', 'source organization id (default: the one with role source)')
    .option('--to <org>', 'target organization id (default: the one with role target)')
    .option('--source-server <name>', 'the source mail server, when the organization has several (mailStores[].name)')
    .option('--target-server <name>', 'the target mail server, when the organization has several')
    .option('--report <file>', 'also write the JSON report to this file')
    .option('--no-calendars', 'mail only: leave calendars, tasks and address books (copied when both organizations have a calendar server)')
    .action(async (sourceUser, targetUser, opts, cmd) => {
      const ctx = commandContext(cmd);
      const ep = endpointsOf(ctx, sourceUser, targetUser, opts);
      const dav = opts.calendars ? calendarServers(ep.organizations.source, ep.organizations.target, ctx.project.baseDir) : undefined;
      for (const l of configuredLimits(ep.source, ep.target, ep.options)) progress(`throttle ${describeLimit(l)}`);
      const started = Date.now();
      let last = 0;
      const store = await ctx.state();
      let report: CopyReport;
      let calendars: CalendarCopyReport | undefined;
      let calendarError: unknown;
      try {
        report = await copyMailbox({
          ...ep,
          sourceMailbox: sourceUser,
          targetMailbox: targetUser,
          store,
          logger: ctx.logger,
          onProgress: (p) => {
            const now = Date.now();
            if (now - last < 500) return;
            last = now;
            const secs = (now - started) / 1000;
            const rate = p.copiedMessages / Math.max(secs, 0.001);
            const eta = rate > 0 ? Math.max(0, (p.totalMessages - p.copiedMessages) / rate) : 0;
            progress(
              `copy ${sourceUser}: ${p.copiedMessages}/${p.totalMessages} messages, ${formatBytes(p.copiedBytes)} (${rate.toFixed(0)} msg/s, ${(p.copiedBytes / 1e6 / secs).toFixed(1)} MB/s, ETA ${eta.toFixed(0)} s) ${p.folder}`,
            );
          },
        });
        // Calendars after the mail: a calendar failure never undoes the mail copied (it is reported, and a re-run resumes).
        if (dav)
          try {
            calendars = await copyCalendars({
              ...dav,
              sourceLogin: sourceUser,
              targetLogin: targetUser,
              store,
              deleteOnTarget: ep.options.deleteOnTarget,
              badItemLimit: ep.options.badItemLimit,
              logger: ctx.logger,
              progress: (c) =>
                progress(
                  `calendars ${sourceUser}: ${c.kind} ${c.name}: ${c.copied} copied, ${c.updated} updated, ${c.unchanged} unchanged (${c.method})`,
                ),
            });
          } catch (err) {
            calendarError = err;
          }
      } catch (err) {
        const r = (err as { report?: CopyReport }).report;
        if (r && opts.report) writeFileSync(opts.report, `${JSON.stringify(r, null, 2)}\n`);
        if (r)
          for (const s of r.skipped)
            process.stderr.write(
              `✗ skipped ${s.folder} UID ${s.uid} ${s.messageId ?? '(no Message-ID)'} "${s.subject ?? ''}" ${s.size} bytes: ${s.reason}\n`,
            );
        throw err;
      } finally {
        await store.close();
      }
      if (opts.report) writeFileSync(opts.report, `${JSON.stringify({ ...report, calendars }, null, 2)}\n`);
      if (ctx.json) {
        printJson({ ...report, calendars });
        if (calendarError) throw calendarError;
        return;
      }
      printTable(report.folders, [
        { header: 'source folder', value: (f) => f.source },
        { header: 'target folder', value: (f) => f.target },
        { header: 'source', value: (f) => f.sourceMessages, align: 'right' },
        { header: 'target', value: (f) => f.targetMessages, align: 'right' },
        { header: 'copied', value: (f) => f.copied, align: 'right' },
        { header: 'matched', value: (f) => f.matched, align: 'right' },
        { header: 'skipped', value: (f) => f.skipped, align: 'right' },
        { header: 'flags', value: (f) => f.flagsUpdated, align: 'right' },
        { header: 'size', value: (f) => formatBytes(f.sourceBytes), align: 'right' },
      ]);
      const t = report.totals;
      process.stdout.write(
        `${t.copied} messages (${formatBytes(t.copiedBytes)}) copied in ${(report.durationMs / 1000).toFixed(2)} s: ${t.messagesPerSecond} msg/s, ${t.megabytesPerSecond} MB/s; ${t.skipped} skipped, ${t.flagsUpdated} flag updates\n`,
      );
      for (const l of report.throttles)
        process.stdout.write(`throttled by ${describeLimit(l)}: waited ${(l.waitedMs / 1000).toFixed(1)} s\n`);
      for (const w of report.warnings) process.stderr.write(`! ${w}\n`);
      for (const s of report.skipped)
        process.stderr.write(
          `✗ skipped ${s.folder} UID ${s.uid} ${s.messageId ?? '(no Message-ID)'} "${s.subject ?? ''}" ${s.size} bytes: ${s.reason}\n`,
        );
      if (calendars) printCalendarCopy(calendars);
      if (calendarError) throw calendarError;
    });
  mailbox
    .command('verify')
    .description(
      'compare a source and a target mailbox folder by folder (counts, sizes, every message read whole and compared by SHA-256, flags, keywords, dates): fidelity score and every difference',
    )
    .argument('<source-user>')
    .argument('<target-user>')
    .option('--from <org>', 'source organization id')
    .option('--to <org>', 'target organization id')
    .option('--source-server <name>', 'the source mail server, when the organization has several')
    .option('--target-server <name>', 'the target mail server, when the organization has several')
    .option(
      '--quick',
      'compare Message-ID, size and a hash of the header only, not every byte (a fast look: a body damaged at the same size passes)',
    )
    .action(async (sourceUser, targetUser, opts, cmd) => {
      const ctx = commandContext(cmd);
      const ep = endpointsOf(ctx, sourceUser, targetUser, opts);
      const dav = calendarServers(ep.organizations.source, ep.organizations.target, ctx.project.baseDir);
      const started = Date.now();
      const r = await verifyMailbox({
        source: ep.source,
        target: ep.target,
        sourceMailbox: sourceUser,
        targetMailbox: targetUser,
        options: ep.options,
        depth: opts.quick ? 'quick' : undefined,
        logger: ctx.logger,
      });
      const seconds = (Date.now() - started) / 1000;
      const calendars = dav ? await verifyCalendars({ ...dav, sourceLogin: sourceUser, targetLogin: targetUser }) : undefined;
      if (calendars && !calendars.ok) process.exitCode = 1;
      if (ctx.json) return printJson({ ...r, calendars });
      printTable(r.folders, [
        { header: 'source folder', value: (f) => f.source },
        { header: 'target folder', value: (f) => f.target },
        { header: 'source', value: (f) => f.sourceMessages, align: 'right' },
        { header: 'target', value: (f) => f.targetMessages, align: 'right' },
        { header: 'intact', value: (f) => f.intact, align: 'right' },
        { header: 'source size', value: (f) => formatBytes(f.sourceBytes), align: 'right' },
        { header: 'target size', value: (f) => formatBytes(f.targetBytes), align: 'right' },
      ]);
      if (r.differences.length) {
        printTable(r.differences, [
          { header: 'folder', value: (d) => d.folder },
          { header: 'kind', value: (d) => d.kind },
          { header: 'uid', value: (d) => d.uid ?? '' },
          { header: 'target uid', value: (d) => d.targetUid ?? '' },
          { header: 'message-id', value: (d) => d.messageId ?? '' },
          { header: 'detail', value: (d) => d.detail },
        ]);
      }
      process.stdout.write(
        `fidelity ${(r.fidelity * 100).toFixed(2)} % (${r.intact}/${r.sourceMessages} intact, ${r.differences.length} differences; ${opts.quick || ep.options.verify === 'quick' ? 'quick: headers only' : 'every byte compared'}, ${seconds.toFixed(1)} s)\n`,
      );
      if (r.fidelity < 1) process.exitCode = 1;
      if (calendars) {
        printTable(calendars.collections, [
          { header: 'collection', value: (c) => c.name },
          { header: 'kind', value: (c) => c.kind },
          { header: 'source', value: (c) => c.source, align: 'right' },
          { header: 'intact', value: (c) => c.intact, align: 'right' },
          { header: 'missing', value: (c) => c.missing.slice(0, 3).join(' ') + (c.missing.length > 3 ? ' …' : '') },
          { header: 'different', value: (c) => c.different.slice(0, 3).join(' ') + (c.different.length > 3 ? ' …' : '') },
        ]);
        process.stdout.write(
          `calendar items ${calendars.calendarItems.intact}/${calendars.calendarItems.source} intact, contacts ${calendars.contactItems.intact}/${calendars.contactItems.source} intact\n`,
        );
      }
    });
}

function printCalendarCopy(c: CalendarCopyReport): void {
  printTable(c.collections, [
    { header: 'collection', value: (x) => x.name },
    { header: 'kind', value: (x) => x.kind },
    { header: 'objects', value: (x) => x.objects, align: 'right' },
    { header: 'copied', value: (x) => x.copied, align: 'right' },
    { header: 'updated', value: (x) => x.updated, align: 'right' },
    { header: 'unchanged', value: (x) => x.unchanged, align: 'right' },
    { header: 'skipped', value: (x) => x.skipped.length, align: 'right' },
    { header: 'deleted on source', value: (x) => x.deletedOnSource, align: 'right' },
    { header: 'found by', value: (x) => x.method },
  ]);
  const t = c.totals;
  process.stdout.write(
    `${t.events} calendar items and ${t.contacts} contacts: ${t.copied} copied, ${t.updated} updated, ${t.skipped} skipped in ${(c.ms / 1000).toFixed(2)} s\n`,
  );
  for (const s of c.collections.flatMap((x) => x.skipped)) process.stderr.write(`✗ skipped ${s.collection} UID ${s.uid}: ${s.reason}\n`);
}

/** `source store imap://127.0.0.1:1431: 20 msg/s, 1.0 MB/s (every copy against it together)`. */
function describeLimit(l: Pick<ThrottleReport, 'scope' | 'store' | 'maxMessagesPerSecond' | 'maxBytesPerSecond'>): string {
  const rates = [
    l.maxMessagesPerSecond > 0 ? `${l.maxMessagesPerSecond} msg/s` : '',
    l.maxBytesPerSecond > 0 ? `${formatBytes(l.maxBytesPerSecond)}/s` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${l.scope}${l.store ? ` ${l.store}` : ''}: ${rates || 'unlimited'}${l.store ? ' (every copy against it together)' : ''}`;
}
