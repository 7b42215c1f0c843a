// LDAP filter escaping for values that come from HTTP callers (RFC 4515): `*`, `(`, `)`,
// `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`, so a search text can never add
// a filter clause or a wildcard of its own. ldapts implements the escaping; this module
// is the one place coexistence code takes it from (to merge with src/directory's when
// the directory capability grows one).
import { Filter, escapeFilter } from 'ldapts';

/** Escapes one value for use inside an LDAP filter. */
export function ldapFilterValue(value: string): string {
  return Filter.escape(value);
}

/** Tagged template: every interpolated value is escaped, the literal parts are not. */
export const ldapFilter = escapeFilter;
