// {SSHA} password hashes as slappasswd makes them: base64(SHA1(password ‖ salt) ‖ salt).
import { createHash, randomBytes } from 'node:crypto';

export function sshaHash(password: string, salt: Buffer = randomBytes(8)): string {
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}
