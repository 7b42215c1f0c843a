// The `sync:` section of the `crossforest init` example: the seed's MIIS setup for the
// lab. The metaverse is the seed's Metaverse_Contact attribute table; each forest has a
// management agent reading its people, groups and contacts with the galsync account,
// filtering what has no Internet address or is hidden, joining on mail (then on an smtp:
// proxy address), projecting the rest, and provisioning the other forest's people and
// groups as contacts in its ou=GAL Contacts.

/** The seed's attribute table: name, type, multi-valued, indexed. */
const SEED_ATTRIBUTES: [string, string, boolean?, boolean?][] = [
  ['assistant', 'string'],
  ['c', 'string'],
  ['cn', 'string'],
  ['co', 'string'],
  ['company', 'string'],
  ['department', 'string'],
  ['displayName', 'string'],
  ['division', 'string'],
  ['employeeID', 'string'],
  ['employeeStatus', 'string'],
  ['employeeType', 'string'],
  ['facsimileTelephoneNumber', 'string'],
  ['givenName', 'string'],
  ['groupType', 'number'],
  ['hideDLMembership', 'boolean'],
  ['homeMTA', 'reference'],
  ['homePhone', 'string'],
  ['info', 'string'],
  ['initials', 'string'],
  ['l', 'string'],
  ['legacyExchangeDN', 'string', true, true],
  ['locality', 'string', false, true],
  ['mail', 'string', false, true],
  ['mailNickname', 'string'],
  ['manager', 'reference'],
  ['mapiRecipient', 'boolean'],
  ['mobile', 'string'],
  ['msExchAssistantName', 'string'],
  ['msExchExpansionServerName', 'string'],
  ['msExchHideFromAddressLists', 'boolean'],
  ['msExchHomeServerName', 'string'],
  ['msExchMasterAccountSid', 'binary'],
  ['msExchOriginatingForest', 'string'],
  ['nTGroupMembers', 'binary', true, true],
  ['o', 'string'],
  ['otherHomePhone', 'string', true, true],
  ['otherTelephone', 'string', true, true],
  ['pager', 'string'],
  ['physicalDeliveryOfficeName', 'string'],
  ['postalCode', 'string'],
  ['proxyAddresses', 'string', true, true],
  ['rfc822Mailbox', 'string'],
  ['sn', 'string'],
  ['st', 'string'],
  ['streetAddress', 'string'],
  ['targetAddress', 'string', false, true],
  ['telephoneAssistant', 'string'],
  ['telephoneNumber', 'string'],
  ['textEncodedORAddress', 'string'],
  ['title', 'string'],
  ['uid', 'string'],
];

function metaverse(): string {
  return SEED_ATTRIBUTES.map(([name, type, multi, indexed]) => {
    const extra = `${multi ? ', multiValued: true' : ''}${indexed ? ', indexed: true' : ''}`;
    return `      - { name: ${name}, type: ${type}${extra} }`;
  }).join('\n');
}

/** Display attributes: imported into the metaverse and written on the contacts provisioned in the other forest. */
const DISPLAY = [
  'cn',
  'displayName',
  'givenName',
  'sn',
  'initials',
  'title',
  'company',
  'department',
  'telephoneNumber',
  'physicalDeliveryOfficeName',
  'mailNickname',
];

/** Attributes copied one to one from a directory into the metaverse. */
const DIRECT = [
  ...DISPLAY,
  'legacyExchangeDN',
  'textEncodedORAddress',
  'targetAddress',
  'msExchHideFromAddressLists',
  'groupType',
  'info',
  'l',
  'st',
  'c',
  'co',
  'postalCode',
  'mobile',
  'facsimileTelephoneNumber',
];

/** Attributes written on the contacts provisioned in the other forest. */
const EXPORTED = [...DISPLAY, 'mail'];

/** openldap: the slapd forests (the default lab); samba: the Samba AD DCs (`lab up --directory samba`). */
export type ExampleDirectory = 'openldap' | 'samba';

function agent(id: 'a' | 'b', rules: string, directory: ExampleDirectory): string {
  const ad = directory === 'samba';
  const dc = ad ? `DC=forest${id},DC=test` : `dc=forest-${id},dc=test`;
  const ou = ad ? 'OU' : 'ou';
  const imported = [...new Set([...DIRECT, 'mail', 'proxyAddresses', 'otherMailbox', 'objectGUID'])];
  return `    ${id}:
      organization: ${id}                 # connects with organizations.${id}.directory (the galsync account)
      containers:                     # read; the GAL container too, so exports are confirmed by import
        - ${ou}=Sites,${dc}
        - ${ou}=Groups,${dc}
        - ${ou}=Contacts,${dc}
        - ${ou}=GAL Contacts,${dc}
      objectClasses: [user, group, contact]
      sourceObjectClasses: [user, group]   # real mailboxes and distribution lists: provisioned in the other forest
${ad ? '      anchor: objectGUID              # kept as its GUID string: the same object across renames and moves\n' : '      anchor: entryUUID               # objectGUID on Active Directory\n'}      attributes: [${imported.join(', ')}]
      connectorFilter:                # the seed: nothing without an Internet address; hidden objects
        - { reason: no Internet address, attribute: mail, when: absent }
        - { reason: hidden from address lists, attribute: msExchHideFromAddressLists, when: equals, value: "TRUE" }
      joinRules:                      # in order; two candidates = an error on the object, never a guess
        - { cs: mail, mv: mail, extension: { path: ${rules}/mail.ts, rule: mail } }
        - { cs: proxyAddresses, mv: mail, match: smtpProxy }
      importFlows:
${DIRECT.map((a) => `        - { to: ${a}, from: ${a} }`).join('\n')}
        - { to: mail, extension: { path: ${rules}/mail.ts, rule: mail } }          # strips / and \\
        - { to: proxyAddresses, extension: { path: ${rules}/proxyAddresses.ts, rule: proxyAddresses } }  # otherMailbox, rfc822Mailbox, textEncodedORaddress
      exportFlows:                    # metaverse → the contacts in ou=GAL Contacts
${EXPORTED.map((a) => `        - { to: ${a}, from: ${a} }`).join('\n')}
        - { to: targetAddress, from: mail, transforms: [{ prefix: "SMTP:" }] }
        - { to: proxyAddresses, from: proxyAddresses, transforms: [{ keep: "^(smtp|x500):" }] }
        - { to: proxyAddresses, from: legacyExchangeDN, transforms: [{ prefix: "X500:" }] }   # replies to old mail keep working
      provisioning:
        container: ${ou}=GAL Contacts,${dc}
        objectClasses: [top, contact]
        rdnAttribute: cn
        deprovision: delete           # or disconnect
      deleteThreshold: 500            # an export deleting more stops; --allow-deletes N to go on
${
  ad
    ? '      # delta imports: DirSync (cookie kept in the state store), uSNChanged where DirSync is refused;\n      # deletes are tombstones (the account must read CN=Deleted Objects; else deltaDeletes: full-diff)'
    : '      deltaDeletes: accesslog         # OpenLDAP accesslog overlay (cn=accesslog); full-diff otherwise'
}`;
}

export function exampleSyncSection(rules = 'examples/rules', directory: ExampleDirectory = 'openldap'): string {
  return `
# GAL sync (\`crossforest sync run full-cycle\`): the seed's MIIS setup between the two forests.
sync:
  metaverse:
    objectType: Metaverse_Contact
    attributes:                       # the seed's attribute table
${metaverse()}
  agents:                             # management agents, in precedence order
${agent('a', rules, directory)}
${agent('b', rules, directory)}
  runProfiles:
    nightly:
      - { run: full-import }
      - { run: full-sync }
      - { run: export }
      - { run: delta-import }
    hourly:
      - { run: delta-import }
      - { run: delta-sync }
      - { run: export }
      - { run: delta-import }
`;
}
