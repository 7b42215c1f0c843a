// The seed's "mail" import rule (MapAttributesForImport, Case "mail"): strip the
// illegal "/" and "\" from the SMTP address, so that the Exchange 5.5-era
// "Atlanta/sales@companya.com" arrives clean in the metaverse and is legal to write.
//   importFlows: - { to: mail, extension: { path: examples/rules/mail.ts, rule: mail } }
import type { EntryView, RulesExtension } from '../../src/sync/rulesExtension.ts';

/** The cleaner on its own, for other rules (the proxyAddresses builder) to reuse. */
export function cleanAddress(address: string): string {
  return address.replaceAll('/', '').replaceAll('\\', '');
}

export default {
  import: {
    mail(cs: EntryView) {
      const work = cs.value('mail');
      return work === undefined ? undefined : cleanAddress(work);
    },
  },
} satisfies RulesExtension;
