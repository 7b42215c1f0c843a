// The seed's proxyAddresses import rule: Exchange 5.5 has no proxyAddresses for the
// metaverse to take, so the collection is built from three fields:
//   rfc822Mailbox         → SMTP:<address>   (the primary, cleaned of "/" and "\")
//   textEncodedORaddress  → X400:<address>
//   otherMailbox          → <TYPE>:<address> (5.5 writes "type$address", e.g. ccmail$Smith, John at berlin)
// plus whatever proxyAddresses the object already has (a later Exchange keeps them),
// without duplicates and with exactly one primary SMTP address.
//   importFlows: - { to: proxyAddresses, extension: { path: examples/rules/proxyAddresses.ts, rule: proxyAddresses } }
import type { EntryView, RulesExtension } from '../../src/sync/rulesExtension.ts';
import { cleanAddress } from './mail.ts';

export function buildProxyAddresses(cs: EntryView): string[] {
  // rfc822Mailbox is the same attribute as mail in LDAP schemas (core.schema's second name).
  const primary = cs.value('rfc822Mailbox') ?? cs.value('mail');
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (type: string, address: string) => {
    const a = address.trim();
    if (!a) return;
    const key = `${type.toLowerCase()}:${a.toLowerCase()}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(`${type}:${a}`);
  };
  if (primary) add('SMTP', cleanAddress(primary));
  for (const p of cs.values('proxyAddresses')) {
    const i = p.indexOf(':');
    if (i <= 0) continue;
    const type = p.slice(0, i);
    // Only one primary: any other "SMTP:" becomes a secondary "smtp:".
    const isSmtp = type.toLowerCase() === 'smtp';
    const addr = isSmtp ? cleanAddress(p.slice(i + 1)) : p.slice(i + 1);
    if (isSmtp && primary && addr.toLowerCase() === cleanAddress(primary).toLowerCase()) continue;
    add(isSmtp ? 'smtp' : type, addr);
  }
  for (const x400 of cs.values('textEncodedORAddress')) add('X400', x400);
  for (const other of cs.values('otherMailbox')) {
    const i = other.indexOf('$');
    if (i > 0) add(other.slice(0, i).toUpperCase(), other.slice(i + 1));
  }
  return out;
}

export default {
  import: { proxyAddresses: buildProxyAddresses },
} satisfies RulesExtension;
