// The Exchange attributes AD lacks without the Exchange schema, added to each DC's
// schema and allowed on the mailRecipient auxiliary class (which user, contact and
// group carry), exactly as Exchange's /PrepareSchema would: attributeSchema objects,
// a mayContain change on Mail-Recipient, then schemaUpdateNow on the rootDSE.
//
// OIDs: mailNickname and targetAddress have their real Exchange OIDs. For
// msExchHideFromAddressLists and homeMDB we use an arc generated the way Microsoft
// tells administrators without their own arc to (1.2.840.113556.1.8000.2554 + the
// parts of a GUID; here the GUID of the slapd lab's 2.25 arc). AD refuses the 2.25
// form itself: its attributeID arcs must fit 32 bits.
import { Attribute, Change, type Client } from 'ldapts';
import type { SambaDc } from './dcs.ts';

/** Bump when the extension changes: it is part of the provisioning cache key. */
export const SCHEMA_EXTENSION_VERSION = 1;

export const CROSSFOREST_AD_ARC = '1.2.840.113556.1.8000.2554.2271.364.53896.20365.49094.1048657.16746216';

interface AttributeDef {
  cn: string;
  ldapName: string;
  oid: string;
  /** attributeSyntax / oMSyntax pair (2.5.5.12/64 Unicode string, 2.5.5.8/1 Boolean, 2.5.5.1/127 DN). */
  syntax: '2.5.5.12' | '2.5.5.8' | '2.5.5.1';
  indexed: boolean;
  rangeUpper?: number;
}

export const EXCHANGE_ATTRIBUTES: readonly AttributeDef[] = [
  {
    cn: 'ms-Exch-Mail-Nickname',
    ldapName: 'mailNickname',
    oid: '1.2.840.113556.1.2.447',
    syntax: '2.5.5.12',
    indexed: true,
    rangeUpper: 64,
  },
  {
    cn: 'ms-Exch-Target-Address',
    ldapName: 'targetAddress',
    oid: '1.2.840.113556.1.2.352',
    syntax: '2.5.5.12',
    indexed: true,
    rangeUpper: 1123,
  },
  {
    cn: 'ms-Exch-Hide-From-Address-Lists',
    ldapName: 'msExchHideFromAddressLists',
    oid: `${CROSSFOREST_AD_ARC}.1.1`,
    syntax: '2.5.5.8',
    indexed: false,
  },
  { cn: 'ms-Exch-Home-MDB', ldapName: 'homeMDB', oid: `${CROSSFOREST_AD_ARC}.1.2`, syntax: '2.5.5.1', indexed: true },
];

const OM_SYNTAX = { '2.5.5.12': '64', '2.5.5.8': '1', '2.5.5.1': '127' } as const;
/** BER of the OM class of a DS-DN value (1.3.12.2.1011.28.0.714), required with oMSyntax 127. */
const DN_OM_OBJECT_CLASS = Buffer.from('KwwCh3McAIVK', 'base64');

async function presentAttributes(client: Client, dc: SambaDc): Promise<Set<string>> {
  const filter = `(|${EXCHANGE_ATTRIBUTES.map((a) => `(lDAPDisplayName=${a.ldapName})`).join('')})`;
  const { searchEntries } = await client.search(dc.schemaDn, { scope: 'one', filter, attributes: ['lDAPDisplayName'] });
  return new Set(searchEntries.map((e) => String(e.lDAPDisplayName).toLowerCase()));
}

/** Adds the missing attributes and allows them on mailRecipient. Idempotent. Returns what was added. */
export async function extendSchema(client: Client, dc: SambaDc): Promise<string[]> {
  const present = await presentAttributes(client, dc);
  const added: string[] = [];
  for (const a of EXCHANGE_ATTRIBUTES) {
    if (present.has(a.ldapName.toLowerCase())) continue;
    const attrs: Attribute[] = [
      new Attribute({ type: 'objectClass', values: ['top', 'attributeSchema'] }),
      new Attribute({ type: 'attributeID', values: [a.oid] }),
      new Attribute({ type: 'lDAPDisplayName', values: [a.ldapName] }),
      new Attribute({ type: 'adminDisplayName', values: [a.cn] }),
      new Attribute({ type: 'attributeSyntax', values: [a.syntax] }),
      new Attribute({ type: 'oMSyntax', values: [OM_SYNTAX[a.syntax]] }),
      new Attribute({ type: 'isSingleValued', values: ['TRUE'] }),
      new Attribute({ type: 'searchFlags', values: [a.indexed ? '1' : '0'] }),
    ];
    if (a.syntax === '2.5.5.1') attrs.push(new Attribute({ type: 'oMObjectClass', values: [DN_OM_OBJECT_CLASS] }));
    if (a.rangeUpper !== undefined)
      attrs.push(
        new Attribute({ type: 'rangeLower', values: ['1'] }),
        new Attribute({ type: 'rangeUpper', values: [String(a.rangeUpper)] }),
      );
    await client.add(`CN=${a.cn},${dc.schemaDn}`, attrs);
    added.push(a.ldapName);
  }
  if (added.length > 0) {
    // The new attributes must be in the schema cache before a class may name them.
    await client.modify('', new Change({ operation: 'add', modification: new Attribute({ type: 'schemaUpdateNow', values: ['1'] }) }));
  }
  const { searchEntries } = await client.search(`CN=Mail-Recipient,${dc.schemaDn}`, {
    scope: 'base',
    attributes: ['mayContain', 'systemMayContain'],
  });
  const allowed = new Set(
    searchEntries.flatMap((e) =>
      [e.mayContain, e.systemMayContain]
        .flat()
        .filter((v) => v !== undefined)
        .map((v) => String(v).toLowerCase()),
    ),
  );
  const missing = EXCHANGE_ATTRIBUTES.map((a) => a.ldapName).filter((n) => !allowed.has(n.toLowerCase()));
  if (missing.length > 0) {
    await client.modify(
      `CN=Mail-Recipient,${dc.schemaDn}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'mayContain', values: missing }) }),
    );
    await client.modify('', new Change({ operation: 'add', modification: new Attribute({ type: 'schemaUpdateNow', values: ['1'] }) }));
  }
  return added;
}
