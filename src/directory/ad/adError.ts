// AD's own words in a refused write. Windows DCs and Samba both put an 8-hex-digit
// Win32/DS error code first in the LDAP diagnostic message:
//   Windows: 00002071: UpdErr: DSID-030502F1, problem 6005 (ENTRY_EXISTS), data 0
//   Samba:   00002071: samldb: samAccountName 'jdoe' already in use!
// The export records that text per object, verbatim, with the LDAP result code.
import { DirectoryError, toDirectoryError } from '../errors.ts';

export interface AdRefusal {
  /** LDAP result code (19 constraintViolation, 68 entryAlreadyExists, 50 insufficientAccessRights …). */
  ldapCode: number | undefined;
  /** The Win32 / directory-service error code from the diagnostic text (e.g. 0x2071), if present. */
  adCode: string | undefined;
  /** The diagnostic text without the code prefix: the DC's words. */
  words: string;
}

const PREFIX = /^([0-9A-Fa-f]{8}):\s*/;

/** Extracts code and words from an ldapts error (or its DirectoryError wrapper). */
export function adRefusal(err: unknown): AdRefusal {
  const root = err instanceof DirectoryError && err.cause !== undefined ? err.cause : err;
  const e = root as { code?: unknown; message?: unknown };
  const ldapCode = typeof e.code === 'number' ? e.code : err instanceof DirectoryError ? err.ldapCode : undefined;
  // ldapts messages look like "<diagnostic message>" or "Code: 0x13 Message: …": keep the diagnostic.
  // ldapts also appends " Code: 0x15" to the diagnostic: that is the result code again, not the DC's words.
  const raw = String(e.message ?? root ?? '')
    .replace(/^Code:\s*0x[0-9a-f]+\s+Message:\s*/i, '')
    .replace(/\s*Code:\s*0x[0-9a-f]+$/i, '')
    .trim();
  const m = PREFIX.exec(raw);
  return {
    ldapCode,
    adCode: m ? `0x${(m[1] as string).replace(/^0+(?=.)/, '').toUpperCase()}` : undefined,
    words: m ? raw.slice(m[0].length).trim() : raw,
  };
}

/** A DirectoryError for a refused export of `dn`, whose message quotes the DC. */
export function toAdExportError(err: unknown, action: string, dn: string): DirectoryError {
  const base = toDirectoryError(err, action, dn);
  const r = adRefusal(err);
  if (r.ldapCode === undefined) return base;
  return new DirectoryError(
    'CF_ERR_AD_REFUSED',
    `the DC refused to ${action} ${dn}: ${r.words}${r.adCode ? ` (AD error ${r.adCode}, LDAP result ${r.ldapCode})` : ` (LDAP result ${r.ldapCode})`}`,
    {
      object: dn,
      ldapCode: r.ldapCode,
      hint:
        r.ldapCode === 68 || /already in use|already exists/i.test(r.words)
          ? 'another object already holds this name or address: find it (e.g. by sAMAccountName/proxyAddresses) and resolve the clash before the next export'
          : r.ldapCode === 50
            ? 'the sync account lacks the right to write here: grant it on the GAL contacts OU'
            : 'correct the value the DC names and export again',
      cause: err,
    },
  );
}
