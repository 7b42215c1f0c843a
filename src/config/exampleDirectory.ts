// The `directory:` block of each organization in the `crossforest init` example: the
// lab's slapd forests (default) or its Samba AD DCs (`crossforest init --directory samba`,
// for `crossforest lab up --directory samba`).
import type { ExampleDirectory } from '../sync/exampleConfig.ts';

const OPENLDAP: Record<'a' | 'b', string> = {
  a: `    directory:
      url: ldap://127.0.0.1:3891
      baseDn: dc=forest-a,dc=test
      bindDn: cn=galsync,ou=Service Accounts,dc=forest-a,dc=test   # least privilege
      password: { file: .lab/secrets/forest-a-galsync.pw }
      timeoutMs: 10000
`,
  b: `    directory:
      url: ldaps://127.0.0.1:6362
      baseDn: dc=forest-b,dc=test
      bindDn: cn=galsync,ou=Service Accounts,dc=forest-b,dc=test
      password: { file: .lab/secrets/forest-b-galsync.pw }
      caFile: .lab/tls/ca.crt
`,
};

function samba(org: 'a' | 'b'): string {
  const host = org === 'a' ? '127.0.0.2' : '127.0.0.3';
  return `    directory:                      # Samba AD DC FOREST${org.toUpperCase()} (crossforest lab up --directory samba)
      kind: activedirectory         # objectGUID anchors, DirSync deltas, tombstones, range retrieval
      url: ldaps://${host}:636     # simple bind over TLS; the DC refuses simple binds in clear text
      caFile: .lab/tls/ca.crt       # the DC's certificate is verified against this CA
      baseDn: DC=forest${org},DC=test
      bindDn: galsync@forest${org}.test   # least privilege: "Replicating Directory Changes", writes only in OU=GAL Contacts
      password: { file: .lab/secrets/forest-${org}-galsync.pw }
      timeoutMs: 10000
`;
}

export function exampleDirectoryBlock(org: 'a' | 'b', directory: ExampleDirectory): string {
  return directory === 'samba' ? samba(org) : OPENLDAP[org];
}

/**
 * The Samba-mode Postfix pair's ports (lab/postfix: postfix-a-ad, postfix-b-ad, which route by
 * the DCs). Written out here so the config layer does not load the lab; a test holds the two equal.
 */
export const AD_POSTFIX_PORTS = {
  a: { smtp: 2545, submission: 5891 },
  b: { smtp: 2546, submission: 5892 },
} as const;
