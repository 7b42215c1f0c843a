// userAccountControl (MS-ADTS 2.2.16): bit flags on user and computer accounts.
// How the connector filter treats them: a disabled account (ACCOUNTDISABLE) that has
// mail stays a GAL entry, as in Exchange (people who left keep receiving until their
// mailbox is removed); only the mail/hidden rules decide GAL membership.

export const UAC = {
  SCRIPT: 0x1,
  ACCOUNTDISABLE: 0x2,
  HOMEDIR_REQUIRED: 0x8,
  LOCKOUT: 0x10,
  PASSWD_NOTREQD: 0x20,
  PASSWD_CANT_CHANGE: 0x40,
  ENCRYPTED_TEXT_PWD_ALLOWED: 0x80,
  TEMP_DUPLICATE_ACCOUNT: 0x100,
  NORMAL_ACCOUNT: 0x200,
  INTERDOMAIN_TRUST_ACCOUNT: 0x800,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
  SERVER_TRUST_ACCOUNT: 0x2000,
  DONT_EXPIRE_PASSWORD: 0x10000,
  MNS_LOGON_ACCOUNT: 0x20000,
  SMARTCARD_REQUIRED: 0x40000,
  TRUSTED_FOR_DELEGATION: 0x80000,
  NOT_DELEGATED: 0x100000,
  USE_DES_KEY_ONLY: 0x200000,
  DONT_REQ_PREAUTH: 0x400000,
  PASSWORD_EXPIRED: 0x800000,
  TRUSTED_TO_AUTH_FOR_DELEGATION: 0x1000000,
  PARTIAL_SECRETS_ACCOUNT: 0x4000000,
} as const;

export type UacFlag = keyof typeof UAC;

export interface DecodedUac {
  value: number;
  flags: UacFlag[];
  /** Bits we have no name for (kept, never dropped, so a round trip is exact). */
  unknownBits: number;
  disabled: boolean;
  /** A person's account (not a computer or trust). */
  normalAccount: boolean;
}

/** Decodes the attribute's text (`"514"`); AD writes it as a signed 32-bit decimal. */
export function decodeUac(text: string | number): DecodedUac | undefined {
  const n = typeof text === 'number' ? text : /^-?\d{1,10}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) return undefined;
  const value = n >>> 0;
  const flags = (Object.keys(UAC) as UacFlag[]).filter((f) => (value & UAC[f]) !== 0);
  const known = flags.reduce((acc, f) => acc | UAC[f], 0) >>> 0;
  return {
    value,
    flags,
    unknownBits: (value & ~known) >>> 0,
    disabled: (value & UAC.ACCOUNTDISABLE) !== 0,
    normalAccount: (value & UAC.NORMAL_ACCOUNT) !== 0,
  };
}

/** LDAP filter for enabled accounts: the bitwise-AND matching rule (1.2.840.113556.1.4.803). */
export const ENABLED_ACCOUNTS_FILTER = '(!(userAccountControl:1.2.840.113556.1.4.803:=2))';
