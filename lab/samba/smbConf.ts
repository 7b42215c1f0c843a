// A self-contained smb.conf per DC: every directory Samba writes to is inside the DC's
// own folder, so two DCs on one machine never share a pid file, lock or socket
// (LAB-NOTES: the provisioned smb.conf points at /var/lib/samba for several of them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SambaDc } from './dcs.ts';

export interface SmbConfOptions {
  /** Allow schema changes (only while we extend the schema at build time). */
  schemaUpdates?: boolean;
  /** PEM key/cert/CA for ldaps; absent = Samba's self-signed certificate. */
  tls?: { key: string; cert: string; ca: string };
}

/** Folders smb.conf names; Samba does not create all of them itself. */
export const SAMBA_SUBDIRS = ['etc', 'private', 'state', 'cache', 'lock', 'run', 'run/ncalrpc', 'log', 'bind-dns'] as const;

export function smbConfText(dc: SambaDc, dir: string, opts: SmbConfOptions = {}): string {
  const lines = [
    '# Written by crossforest lab (lab/samba/smbConf.ts); regenerated on every start.',
    '[global]',
    `\tnetbios name = ${dc.hostName}`,
    `\trealm = ${dc.realm}`,
    `\tworkgroup = ${dc.domain}`,
    '\tserver role = active directory domain controller',
    // Only what a directory lab needs: no file server, no NetBIOS, no DNS, no winbindd.
    '\tserver services = rpc, ldap, cldap, kdc, drepl, kcc',
    // A bare address matches no interface and nothing listens: it must carry a mask.
    `\tinterfaces = ${dc.host}/8`,
    '\tbind interfaces only = yes',
    '\tidmap_ldb:use rfc2307 = yes',
    `\tprivate dir = ${join(dir, 'private')}`,
    `\tstate directory = ${join(dir, 'state')}`,
    `\tcache directory = ${join(dir, 'cache')}`,
    `\tlock directory = ${join(dir, 'lock')}`,
    `\tpid directory = ${join(dir, 'run')}`,
    `\tncalrpc dir = ${join(dir, 'run', 'ncalrpc')}`,
    `\tbinddns dir = ${join(dir, 'bind-dns')}`,
    `\tlog file = ${join(dir, 'log', 'samba.log')}`,
    '\tlogging = file',
    '\tlog level = 1',
    '\tmax log size = 10000',
    // Simple binds over plain ldap:// (the lab's default, like slapd's); ldaps is offered too.
    '\tldap server require strong auth = no',
    '\ttls enabled = yes',
  ];
  if (opts.tls) {
    lines.push(`\ttls keyfile = ${opts.tls.key}`, `\ttls certfile = ${opts.tls.cert}`, `\ttls cafile = ${opts.tls.ca}`);
  }
  if (opts.schemaUpdates) lines.push('\tdsdb:schema update allowed = true');
  lines.push(
    '',
    '[sysvol]',
    `\tpath = ${join(dir, 'state', 'sysvol')}`,
    '\tread only = No',
    '',
    '[netlogon]',
    `\tpath = ${join(dir, 'state', 'sysvol', dc.realm.toLowerCase(), 'scripts')}`,
    '\tread only = No',
    '',
  );
  return lines.join('\n');
}

export function writeSmbConf(dc: SambaDc, dir: string, opts: SmbConfOptions = {}): string {
  for (const sub of SAMBA_SUBDIRS) mkdirSync(join(dir, sub), { recursive: true });
  const path = join(dir, 'etc', 'smb.conf');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, smbConfText(dc, dir, opts));
  return path;
}
