// The lab's TLS material: one self-signed CA and one server certificate for
// 127.0.0.1/localhost, generated once with the openssl CLI into <labDir>/tls/ and
// shared by slapd (ldaps) and Dovecot (imaps, STARTTLS). Clients trust `caCert`.
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.ts';

export interface LabCertificates {
  /** PEM of the lab CA: what clients pass as `ca`. */
  caCert: string;
  /** PEM server certificate, SAN IP:127.0.0.1 and DNS:localhost. */
  cert: string;
  /** PEM private key of the server certificate (mode 0600). */
  key: string;
}

export function labCertificatePaths(labDir: string): LabCertificates {
  const dir = join(labDir, 'tls');
  return { caCert: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/**
 * Returns the certificate paths, generating them on first use. Generation happens in a
 * private temporary folder renamed into place, so two concurrent callers never see a
 * half-written set (the loser of the rename race simply discards its copy).
 */
export async function ensureLabCertificates(labDir: string): Promise<LabCertificates> {
  const paths = labCertificatePaths(labDir);
  if (existsSync(paths.caCert) && existsSync(paths.cert) && existsSync(paths.key)) return paths;
  mkdirSync(labDir, { recursive: true });
  const tmp = join(labDir, `tls.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    const ssl = (args: string[]) => run('openssl', args, { cwd: tmp, what: 'lab TLS' });
    await ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '3650',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-subj',
      '/O=crossforest lab/CN=crossforest lab CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await ssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/O=crossforest lab/CN=localhost',
    ]);
    writeFileSync(
      join(tmp, 'server.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
        'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    await ssl([
      'x509',
      '-req',
      '-sha256',
      '-days',
      '825',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ]);
    chmodSync(join(tmp, 'server.key'), 0o600);
    chmodSync(join(tmp, 'ca.key'), 0o600);
    rmSync(join(tmp, 'server.csr'));
    rmSync(join(tmp, 'server.ext'));
    try {
      renameSync(tmp, join(labDir, 'tls'));
    } catch (err) {
      // Someone else finished first (ENOTEMPTY/EEXIST): theirs wins, ours goes.
      if (!existsSync(paths.cert)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return paths;
}
