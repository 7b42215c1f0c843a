// Fixed facts of the two Samba AD domain controllers (`lab up --directory samba`).
// They sit beside the slapd forests on their own loopback addresses, so the standard
// AD ports (389, 636, 88 …) need no remapping: FORESTA on 127.0.0.2, FORESTB on 127.0.0.3.
// The mail domains stay forest-a.test / forest-b.test, so the sample organization
// (mail, UPN, proxyAddresses) is the same one the OpenLDAP forests hold.
import { join } from 'node:path';
import type { ForestId } from '../forests.ts';

export interface SambaDc {
  forest: ForestId;
  /** Kerberos realm, also the AD DNS domain (upper case). */
  realm: string;
  /** NetBIOS domain name. */
  domain: string;
  /** NetBIOS name of the DC (what `samba-tool` calls the host name). */
  hostName: string;
  host: string;
  ldapUrl: string;
  ldapsUrl: string;
  /** Default naming context: the domain root. */
  baseDn: string;
  configurationDn: string;
  schemaDn: string;
  /** UPN of the built-in Administrator: what the lab binds as. */
  adminUpn: string;
  /** Least-privilege sync account (DirSync right, write only in OU=GAL Contacts). */
  galsyncDn: string;
  galsyncUpn: string;
  sitesDn: string;
  groupsDn: string;
  contactsDn: string;
  galContactsDn: string;
  serviceAccountsDn: string;
  /** Name of the secret file (in <labDir>/secrets) holding the Administrator password. */
  adminSecret: string;
}

function dc(forest: ForestId, host: string): SambaDc {
  const up = forest.toUpperCase();
  const baseDn = `DC=forest${forest},DC=test`;
  const realm = `FOREST${up}.TEST`;
  return {
    forest,
    realm,
    domain: `FOREST${up}`,
    hostName: `DC${up}`,
    host,
    ldapUrl: `ldap://${host}:389`,
    ldapsUrl: `ldaps://${host}:636`,
    baseDn,
    configurationDn: `CN=Configuration,${baseDn}`,
    schemaDn: `CN=Schema,CN=Configuration,${baseDn}`,
    adminUpn: `Administrator@${realm.toLowerCase()}`,
    galsyncDn: `CN=galsync,OU=Service Accounts,${baseDn}`,
    galsyncUpn: `galsync@${realm.toLowerCase()}`,
    sitesDn: `OU=Sites,${baseDn}`,
    groupsDn: `OU=Groups,${baseDn}`,
    contactsDn: `OU=Contacts,${baseDn}`,
    galContactsDn: `OU=GAL Contacts,${baseDn}`,
    serviceAccountsDn: `OU=Service Accounts,${baseDn}`,
    adminSecret: `samba-${forest}-admin.pw`,
  };
}

export const SAMBA_DCS: Record<ForestId, SambaDc> = {
  a: dc('a', '127.0.0.2'),
  b: dc('b', '127.0.0.3'),
};

/** Where one DC lives under the lab folder. */
export interface SambaPaths {
  dir: string;
  smbConf: string;
  pidFile: string;
  logFile: string;
  tlsDir: string;
  /** Written after a successful load: what the DC holds (size, seed, versions). */
  loadedFile: string;
  samLdb: string;
}

export function sambaPaths(labDir: string, forest: ForestId): SambaPaths {
  return sambaPathsIn(join(labDir, `samba-${forest}`));
}

/** The same layout in any folder (the provisioning build folder uses it too). */
export function sambaPathsIn(dir: string): SambaPaths {
  return {
    dir,
    smbConf: join(dir, 'etc', 'smb.conf'),
    // samba names its pid file after the binary: <pid directory>/samba.pid
    pidFile: join(dir, 'run', 'samba.pid'),
    logFile: join(dir, 'log', 'samba.log'),
    tlsDir: join(dir, 'tls'),
    loadedFile: join(dir, 'loaded.json'),
    samLdb: join(dir, 'private', 'sam.ldb'),
  };
}

/** Rewrites a DN of the slapd forest (`…,dc=forest-a,dc=test`) to the same place in the Samba domain. */
export function toSambaDn(dn: string, forest: ForestId): string {
  const suffix = new RegExp(`,?dc=forest-${forest},dc=test$`, 'i');
  const base = SAMBA_DCS[forest].baseDn;
  if (!suffix.test(dn)) return dn;
  const rest = dn.replace(suffix, '');
  return rest === '' ? base : `${rest},${base}`;
}
