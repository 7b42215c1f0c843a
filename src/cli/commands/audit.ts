// `crossforest audit [host:port …]`: the security to-do list as a check. A table of
// findings (or --json), each failure or warning with its fix; exit code 1 on a failure.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { auditEndpoints } from '../../audit/audit.ts';
import { parseTarget, projectEndpoints } from '../../audit/endpoints.ts';
import { auditSchema } from '../../config/audit.ts';
import { readReferencedFile } from '../../config/secret.ts';
import { createLogger } from '../../util/logger.ts';
import { commandContext, globals } from '../context.ts';
import { printJson, printTable, progress } from '../output.ts';

export function registerAudit(program: Command<[], Record<string, unknown>>): void {
  program
    .command('audit')
    .description(
      'audit TLS, certificates, clear-text authentication and open relay on every endpoint of both organizations (and any host:port given)',
    )
    .argument('[targets...]', 'more endpoints: host:port or protocol://host:port (smtp, submission, imap, pop3, ldap, http)')
    .option('--targets-only', 'audit only the targets given, not the project file endpoints')
    .action(async (targets, opts, cmd) => {
      const g = globals(cmd);
      // Without a project file, the given targets can still be audited.
      const haveProject = existsSync(resolve(g.config)) && !opts.targetsOnly;
      const ctx = haveProject ? commandContext(cmd) : undefined;
      const logger = ctx?.logger ?? createLogger({ verbose: Boolean(g.verbose) });
      const cfg = ctx?.project.config.audit ?? auditSchema.parse({});
      const ca = ctx && cfg.caFile ? readReferencedFile(cfg.caFile, ctx.project.baseDir, 'audit.caFile') : undefined;
      const endpoints = [...(ctx ? projectEndpoints(ctx.project) : []), ...targets.map((t) => parseTarget(t, ca))];
      if (endpoints.length === 0) progress('crossforest audit: nothing to audit (no project file and no host:port given)');
      else progress(`crossforest audit: ${endpoints.length} endpoint(s)…`);
      const report = await auditEndpoints(endpoints, ctx?.project, { ...cfg, logger });
      if (g.json) printJson(report);
      else {
        printTable(report.findings, [
          { header: 'org', value: (f) => f.organization ?? '' },
          { header: 'endpoint', value: (f) => f.endpoint },
          { header: 'check', value: (f) => f.check },
          { header: 'status', value: (f) => f.status.toUpperCase() },
          { header: 'detail', value: (f) => f.detail },
        ]);
        for (const f of report.findings.filter((x) => (x.status === 'fail' || x.status === 'warn') && x.fix)) {
          process.stdout.write(`${f.status === 'fail' ? '✗' : '!'} ${f.endpoint} ${f.check}: ${f.fix}\n`);
        }
        const s = report.summary;
        progress(`${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.info} notes, ${s.skip} skipped`);
      }
      if (report.failed) process.exitCode = 1;
    });
}
