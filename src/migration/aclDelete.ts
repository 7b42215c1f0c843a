// DELETEACL (RFC 4314 §3.2): clean-up must remove an entry, not leave it with empty rights
// (Dovecot keeps `SETACL id ""` as an entry without rights). src/mail/acl.ts has GETACL
// and SETACL only; this goes through the same imapflow internal `exec` path.
// TODO(issue 4 owner): move into src/mail/acl.ts beside setAcl.
import type { ImapFlow } from 'imapflow';
import { encodePath } from 'imapflow/lib/tools.js';
import { toMailStoreError } from '../mail/errors.ts';

type Exec = (command: string, attributes: { type: string; value: unknown }[]) => Promise<{ next: () => void }>;

export async function deleteAcl(client: ImapFlow, path: string, identifier: string): Promise<void> {
  const exec = (client as unknown as { exec: Exec }).exec.bind(client);
  try {
    const res = await exec('DELETEACL', [
      { type: 'STRING', value: encodePath(client as never, path) },
      { type: 'STRING', value: identifier },
    ]);
    res.next();
  } catch (err) {
    throw toMailStoreError(err, `delete the ACL entry of ${identifier} on ${path}`, path);
  }
}
