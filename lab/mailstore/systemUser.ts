// uid/gid of a system account from /etc/passwd (Node has no getpwnam): the mail stores
// run as `mail` and the Dovecot auth process as `dovecot`.
import { readFileSync } from 'node:fs';
import { LabError } from '../../src/util/errors.ts';

export interface SystemUser {
  uid: number;
  gid: number;
}

export function systemUser(name: string): SystemUser {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new LabError(`system user ${name} does not exist`, {
    object: name,
    hint: name === 'mail' ? 'the `mail` account (uid 8) comes with Debian base-passwd' : 'install dovecot-core, which creates it',
  });
}
