// RFC 4511 result codes by name, so that an export error reads as the directory's own
// words ("Insufficient Access Rights", "Object Class Violation"), as administrators
// know them from their LDAP tools and server logs.
const NAMES: Record<number, string> = {
  1: 'Operations Error',
  2: 'Protocol Error',
  3: 'Time Limit Exceeded',
  4: 'Size Limit Exceeded',
  8: 'Strong Auth Required',
  10: 'Referral',
  11: 'Admin Limit Exceeded',
  12: 'Unavailable Critical Extension',
  13: 'Confidentiality Required',
  16: 'No Such Attribute',
  17: 'Undefined Attribute Type',
  18: 'Inappropriate Matching',
  19: 'Constraint Violation',
  20: 'Attribute Or Value Exists',
  21: 'Invalid Attribute Syntax',
  32: 'No Such Object',
  34: 'Invalid DN Syntax',
  49: 'Invalid Credentials',
  50: 'Insufficient Access Rights',
  51: 'Busy',
  52: 'Unavailable',
  53: 'Unwilling To Perform',
  54: 'Loop Detect',
  64: 'Naming Violation',
  65: 'Object Class Violation',
  66: 'Not Allowed On Non-Leaf',
  67: 'Not Allowed On RDN',
  68: 'Entry Already Exists',
  69: 'Object Class Mods Prohibited',
  80: 'Other',
};

export function ldapResultName(code: number): string {
  return NAMES[code] ?? `LDAP result ${code}`;
}
