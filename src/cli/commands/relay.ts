// `crossforest relay [--listener name…]`: the SMTP mail-flow policy relay, until
// SIGINT/SIGTERM; one line per message on stderr (never a body).
// `crossforest relay classify <file.eml> [--from a] [--to b…] [--direction d]`: what
// the relay would decide for a message file, without sending anything.
import { readFileSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { classifyMessage } from '../../transport/detectRules.ts';
import { RelayError } from '../../transport/errors.ts';
import { inspectBuffer } from '../../transport/messageInspector.ts';
import { decide, headersToStrip } from '../../transport/policy.ts';
import { projectPolicyTable, startRelay } from '../../transport/relay.ts';
import { commandContext } from '../context.ts';
import { printJson, printTable, progress } from '../output.ts';

export function registerRelay(program: Command<[], Record<string, unknown>>): void {
  const relay = program
    .command('relay')
    .description(
      'run the SMTP mail-flow policy relay: block OOF/auto-replies/auto-forwards to the Internet, strip read-receipt requests inbound',
    )
    .option('-l, --listener <name...>', 'run only these listeners of transport.listeners')
    .action(async (opts, cmd) => {
      const ctx = commandContext(cmd);
      const r = await startRelay(ctx.project, { only: opts.listener, logger: ctx.logger });
      for (const l of r.listeners) {
        l.on('message', (o) => {
          const kind = o.decision?.classification.kind ?? '-';
          const stripped = o.decision?.stripHeaders.length ? ` stripped=${o.decision.stripHeaders.join(',')}` : '';
          progress(
            `${l.name} ${o.result} kind=${kind} from=<${o.mailFrom}> to=${o.recipients.length} bytes=${o.bytes}${stripped} reply="${o.reply}"`,
          );
        });
      }
      const info = r.listeners.map((l) => ({ listener: l.name, port: l.port }));
      if (ctx.json) printJson({ listening: info });
      else progress(`crossforest relay: ${info.map((i) => `${i.listener} on port ${i.port}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await r.close();
    });

  relay
    .command('classify')
    .description('show how the relay would classify and route a message file (.eml), without sending it')
    .argument('<file>', 'the message, as raw RFC 5322 bytes')
    .option('--from <address>', 'envelope sender ("" for the null sender <>)', '')
    .option('--to <address...>', 'envelope recipients', ['someone@internet.invalid'])
    .option('--direction <d>', 'outbound (policy by recipient domain) or inbound (strip by sender domain)', 'outbound')
    .action(async (file, opts, cmd) => {
      const ctx = commandContext(cmd);
      if (opts.direction !== 'outbound' && opts.direction !== 'inbound') {
        throw new RelayError(`--direction must be inbound or outbound, got "${opts.direction}"`, { object: '--direction' });
      }
      let raw: Buffer;
      try {
        raw = readFileSync(file);
      } catch {
        throw new RelayError(`cannot read message file ${file}`, { object: file, hint: 'pass the path of a raw message (.eml)' });
      }
      const table = projectPolicyTable(ctx.project);
      const limits = ctx.project.config.transport?.limits;
      const { evidence, stripped } = await inspectBuffer(raw, {
        mailFrom: opts.from,
        stripHeaders: headersToStrip(table, opts.direction, opts.from),
        maxHeaderBytes: limits?.maxHeaderBytes ?? 256 * 1024,
      });
      const classification = classifyMessage(evidence);
      const decision = decide(table, opts.direction, opts.to, classification, stripped);
      if (ctx.json) {
        printJson(decision);
        return;
      }
      printTable(classification.signals, [
        { header: 'rule', value: (s) => s.rule },
        { header: 'evidence', value: (s) => s.detail },
      ]);
      progress(`kind: ${classification.kind}`);
      progress(`forward to: ${decision.allowed.join(', ') || '(nobody)'}`);
      for (const b of decision.blocked) progress(`blocked: ${b.recipient} (policy ${b.policy}, ${decision.onBlock})`);
      if (decision.stripHeaders.length) progress(`strips: ${decision.stripHeaders.join(', ')}`);
    });
}
