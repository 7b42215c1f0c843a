// IMAP modified UTF-7 (RFC 3501 §5.1.3): how Maildir++ stores non-ASCII folder names
// on disk (Dovecot without the UTF8 option), e.g. `Entwürfe` → `Entw&APw-rfe`.

export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    for (const [i, u] of pending.entries()) bytes.writeUInt16BE(u, i * 2);
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? '&-' : name[i];
    } else {
      // UTF-16 code units, surrogate pairs included, as RFC 3501 requires.
      pending.push(c);
    }
  }
  flush();
  return out;
}
