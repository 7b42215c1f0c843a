// main.cf and master.cf of one lab Postfix. Each instance is self-contained (own
// config dir, queue, data dir, log file) so two organizations and a test's throw-away
// open relay run side by side; only loopback ports, nothing from /etc/postfix but the
// read-only meta files.

export interface PostfixSpec {
  /** Short id: a, b, or a test's own (open-relay). */
  name: string;
  /** Instance folder: conf/, queue/, data/, mail/, postfix.log. */
  dir: string;
  mailDomain: string;
  /** MX-like port: takes mail for mailDomain from anyone, relays for nobody. */
  smtpPort: number;
  /** Submission port: trusts loopback clients (stands in for authenticated users) and relays for them. */
  submissionPort: number;
  /** Where mail for other domains goes: the policy relay's outbound listener, `[127.0.0.1]:10025`. */
  relayhost: string;
  /** Offer STARTTLS with this certificate on both ports. */
  tls?: { certFile: string; keyFile: string };
  /** The classic misconfiguration for the audit test: every client is "mynetworks". */
  openRelay?: boolean;
  /** Route by the directory, as Exchange does (see directoryMaps below); absent: catch-all only. */
  routing?: DirectoryRouting;
}

/**
 * Directory routing of one organization, the way Exchange routes a merged pair:
 * - an address (mail or any smtp: proxy) of an object with a targetAddress is rewritten
 *   to that targetAddress, "SMTP:" prefix removed, whether or not the object also has a
 *   mailbox here: targetAddress wins. That is how mail to a migrated user's old address
 *   reaches the new mailbox after cutover, and how a pre-staged target user (mailbox
 *   ready, targetAddress still pointing at the source) keeps sending mail to the mailbox
 *   the user reads today until cutover clears it;
 * - an address of a mailbox-enabled user without targetAddress is rewritten to the user's
 *   login name (UPN) and delivered to the organization's Dovecot over LMTP;
 * - the other organization's domain goes straight to its Postfix (org-to-org traffic
 *   does not leave through the policy relay, which treats both as internal anyway), and
 *   the MX port accepts it too, as an internal relay domain (Exchange's shared address
 *   space of a merged pair): it is routed by this directory first, so mail sent here to
 *   an old address reaches whatever mailbox this organization's objects point at;
 * - any other local address falls to the lab's catch-all Maildir (the relay tests' sink).
 */
export interface DirectoryRouting {
  ldapUrl: string;
  baseDn: string;
  bindDn: string;
  /** Read at `lab up` from the lab secrets; written only into 0640 root:postfix map files. */
  bindPw: string;
  /**
   * Verify the directory's certificate (an `ldaps://` ldapUrl) with this CA file, which the
   * postfix user must be able to read (the lab's Samba DCs); absent: no TLS settings in the
   * maps (the slapd pair reads plain LDAP on loopback).
   */
  caFile?: string;
  /** Dovecot's LMTP listener, `inet:127.0.0.1:2401`: every mailbox user's, unless `stores` is given. */
  lmtp: string;
  /**
   * Several mail servers (`lab up --stores N`, N ≥ 2): each mailbox user's mail goes to the
   * LMTP of the store their homeMDB names, looked up when the message is routed, so a
   * cutover that changes homeMDB changes where the next message goes. Store 1 first (its
   * map keeps the name ldap-lmtp.cf); `lmtp` is then unused.
   */
  stores?: readonly { key: string; homeMDB: string; lmtp: string }[];
  /** Other organizations' mail domains and their Postfix, `smtp:[127.0.0.1]:2526`. */
  peers: Record<string, string>;
}

/** RFC 4515 escaping of a filter value, and `%` doubled (Postfix expands %s, %u, %d …). */
function postfixFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/%/g, '%%');
}

/** The LMTP transport maps, in lookup order: one for every mailbox, or one per store (ldap-lmtp.cf, ldap-lmtp-a2.cf …). */
export function lmtpMapFiles(r: DirectoryRouting): string[] {
  const stores = r.stores ?? [];
  if (stores.length < 2) return ['ldap-lmtp.cf'];
  return stores.map((st, i) => (i === 0 ? 'ldap-lmtp.cf' : `ldap-lmtp-${st.key}.cf`));
}

/** The map files of directory routing: file name → content. */
export function directoryMaps(r: DirectoryRouting): Record<string, string> {
  const common = [
    `server_host = ${r.ldapUrl}`,
    `search_base = ${r.baseDn}`,
    'scope = sub',
    'version = 3',
    'bind = yes',
    `bind_dn = ${r.bindDn}`,
    `bind_pw = ${r.bindPw}`,
    // A DC certificate that does not verify (CA, address) fails the lookup, a temporary error: never plain text.
    ...(r.caFile ? [`tls_ca_cert_file = ${r.caFile}`, 'tls_require_cert = yes'] : []),
  ];
  const byAddress = '(|(mail=%s)(proxyAddresses=smtp:%s))';
  return {
    'ldap-mailbox.cf': [
      ...common,
      '# targetAddress takes precedence: only a mailbox that routes nowhere else is delivered here.',
      `query_filter = (&${byAddress}(homeMDB=*)(!(targetAddress=*)))`,
      'result_attribute = userPrincipalName',
      '',
    ].join('\n'),
    'ldap-forward.cf': [...common, `query_filter = (&${byAddress}(targetAddress=*))`, 'result_attribute = targetAddress', ''].join('\n'),
    // The LMTP transport (by login name and homeMDB): see lmtpMaps.
    ...lmtpMaps(r, common),
    // targetAddress values are "SMTP:user@domain" (as in AD): strip the type (via pipemap above).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${1} is Postfix's regexp substitution, not JavaScript's
    'strip-address-type.regexp': '/^smtp:(.+)$/ ${1}\n', // Postfix regexp tables are case-insensitive by default (a trailing i would turn that off)
  };
}

// Not filtered on targetAddress: a message already rewritten to the login name (accepted
// before a cutover set targetAddress) still goes to the mailbox it was resolved to, which
// the cutover's final delta then carries over; only a mailbox that is gone (no homeMDB) is not.
function lmtpMaps(r: DirectoryRouting, common: readonly string[]): Record<string, string> {
  const stores = r.stores ?? [];
  if (stores.length < 2) {
    return {
      'ldap-lmtp.cf': [
        ...common,
        '# Delivery is by login name: only mailbox-enabled users get LMTP.',
        `query_filter = (&(userPrincipalName=%s)(homeMDB=*))`,
        'result_attribute = userPrincipalName',
        `result_format = lmtp:${r.lmtp}`,
        '',
      ].join('\n'),
    };
  }
  const files = lmtpMapFiles(r);
  return Object.fromEntries(
    stores.map((st, i) => [
      files[i] ?? `ldap-lmtp-${st.key}.cf`,
      [
        ...common,
        `# Delivery is by login name, to the store the user's homeMDB names (${st.key}).`,
        `query_filter = (&(userPrincipalName=%s)(homeMDB=${postfixFilterValue(st.homeMDB)}))`,
        'result_attribute = userPrincipalName',
        `result_format = lmtp:${st.lmtp}`,
        '',
      ].join('\n'),
    ]),
  );
}

export function mainCf(spec: PostfixSpec): string {
  const d = spec.dir;
  const lines = [
    '# Written by lab/postfix: do not edit, `crossforest lab up` rewrites it.',
    'compatibility_level = 3.6',
    `queue_directory = ${d}/queue`,
    `data_directory = ${d}/data`,
    'command_directory = /usr/sbin',
    'daemon_directory = /usr/lib/postfix/sbin',
    'meta_directory = /etc/postfix',
    'shlib_directory = /usr/lib/postfix',
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `myhostname = mail-${spec.name}.${spec.mailDomain}`,
    `mydomain = ${spec.mailDomain}`,
    `myorigin = ${spec.mailDomain}`,
    `syslog_name = postfix-lab-${spec.name}`,
    `maillog_file = ${d}/postfix.log`,
    `maillog_file_prefixes = ${d}`,
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mydestination =',
    // Nobody is trusted on the MX port; the submission port overrides this in master.cf.
    `mynetworks = ${spec.openRelay ? '0.0.0.0/0' : '192.0.2.1/32'}`,
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    `relayhost = ${spec.relayhost}`,
    'smtp_tls_security_level = none',
    // One catch-all Maildir per organization: the relay tests look messages up by Message-ID.
    `virtual_mailbox_domains = ${spec.mailDomain}`,
    `virtual_mailbox_base = ${d}/mail`,
    'virtual_mailbox_maps = static:inbox/',
    'virtual_uid_maps = static:8',
    'virtual_gid_maps = static:8',
    'virtual_minimum_uid = 8',
    'alias_maps =',
    'alias_database =',
    // Mail is passed on as it came: no header rewriting, no 8-bit to 7-bit conversion.
    'local_header_rewrite_clients =',
    'disable_mime_output_conversion = yes',
    // Retry quickly: the relay-restart test waits for deferred mail to go out again.
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    'queue_run_delay = 1s',
    'smtp_connect_timeout = 5s',
    'biff = no',
    'smtputf8_enable = yes',
  ];
  if (spec.routing) {
    const d = `${spec.dir}/conf`;
    lines.push(
      // pipemap feeds the targetAddress into the regexp that strips its SMTP: type.
      `virtual_alias_maps = ldap:${d}/ldap-mailbox.cf, pipemap:{ldap:${d}/ldap-forward.cf, regexp:${d}/strip-address-type.regexp}`,
      `relay_domains = ${Object.keys(spec.routing.peers).join(', ')}`,
      `transport_maps = ${lmtpMapFiles(spec.routing)
        .map((f) => `ldap:${d}/${f}`)
        .join(', ')}${
        Object.keys(spec.routing.peers).length > 0
          ? `, inline:{${Object.entries(spec.routing.peers)
              .map(([dom, next]) => `${dom}=${next}`)
              .join(', ')}}`
          : ''
      }`,
    );
  }
  if (spec.tls) {
    lines.push(`smtpd_tls_cert_file = ${spec.tls.certFile}`, `smtpd_tls_key_file = ${spec.tls.keyFile}`, 'smtpd_tls_security_level = may');
  }
  return `${lines.join('\n')}\n`;
}

export function masterCf(spec: PostfixSpec): string {
  const services = [
    `127.0.0.1:${spec.smtpPort} inet n - n - - smtpd`,
    `127.0.0.1:${spec.submissionPort} inet n - n - - smtpd`,
    '  -o syslog_name=postfix-lab-submission',
    `  -o mynetworks=${spec.openRelay ? '0.0.0.0/0' : '127.0.0.0/8'}`,
    'pickup    unix  n - n 60 1 pickup',
    'cleanup   unix  n - n - 0 cleanup',
    'qmgr      unix  n - n 300 1 qmgr',
    'tlsmgr    unix  - - n 1000? 1 tlsmgr',
    'rewrite   unix  - - n - - trivial-rewrite',
    'bounce    unix  - - n - 0 bounce',
    'defer     unix  - - n - 0 bounce',
    'trace     unix  - - n - 0 bounce',
    'verify    unix  - - n - 1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n - - proxymap',
    'smtp      unix  - - n - - smtp',
    'relay     unix  - - n - - smtp',
    'showq     unix  n - n - - showq',
    'error     unix  - - n - - error',
    'retry     unix  - - n - - error',
    'discard   unix  - - n - - discard',
    'local     unix  - n n - - local',
    'virtual   unix  - n n - - virtual',
    'lmtp      unix  - - n - - lmtp',
    // Several stores: qmgr remembers the last address it resolved for 30 s (Postfix's
    // resolve_clnt, not configurable), so the next message from the same sender to a user
    // whose homeMDB just moved still goes to the old store, which refuses it (550 5.1.1).
    // Deferred instead of bounced (status=SOFTBOUNCE in the log), it is resolved again on the
    // retry and reaches the new store, in the lab about a second later. The same holds for a
    // message already on its way to the old store's LMTP when homeMDB changes.
    ...((spec.routing?.stores?.length ?? 0) > 1 ? ['  -o soft_bounce=yes'] : []),
    'anvil     unix  - - n - 1 anvil',
    'scache    unix  - - n - 1 scache',
    'postlog   unix-dgram n - n - 1 postlogd',
  ];
  return `${services.join('\n')}\n`;
}
