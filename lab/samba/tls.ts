// The DC's ldaps certificate, signed by the lab CA (so clients verify it with the same
// ca.crt as slapd's and Dovecot's), for the DC's own address: the lab server
// certificate names 127.0.0.1 only, and the DCs listen on 127.0.0.2 / 127.0.0.3.
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../proc.ts';
import type { LabCertificates } from '../tls.ts';
import type { SambaDc } from './dcs.ts';

export interface DcCertificate {
  key: string;
  cert: string;
  ca: string;
}

/** Creates (once) `<tlsDir>/dc.key` and `dc.crt` for `dc`, signed by the lab CA. */
export async function ensureDcCertificate(dc: SambaDc, tlsDir: string, lab: LabCertificates): Promise<DcCertificate> {
  const out = { key: join(tlsDir, 'dc.key'), cert: join(tlsDir, 'dc.crt'), ca: lab.caCert };
  if (existsSync(out.key) && existsSync(out.cert)) return out;
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const caKey = join(lab.caCert, '..', 'ca.key');
  const fqdn = `${dc.hostName.toLowerCase()}.${dc.realm.toLowerCase()}`;
  const ssl = (args: string[]) => run('openssl', args, { cwd: tlsDir, what: `Samba DC ${dc.realm} TLS` });
  await ssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-keyout',
    'dc.key',
    '-out',
    'dc.csr',
    '-subj',
    `/O=crossforest lab/CN=${fqdn}`,
  ]);
  writeFileSync(
    join(tlsDir, 'dc.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
      `extendedKeyUsage=serverAuth\nsubjectAltName=IP:${dc.host},DNS:${fqdn}\n`,
  );
  await ssl([
    'x509',
    '-req',
    '-sha256',
    '-days',
    '825',
    '-in',
    'dc.csr',
    '-CA',
    lab.caCert,
    '-CAkey',
    caKey,
    '-set_serial',
    `0x${Date.now().toString(16)}${dc.forest === 'a' ? '0a' : '0b'}`,
    '-extfile',
    'dc.ext',
    '-out',
    'dc.crt',
  ]);
  // Samba refuses a key file that others can read.
  chmodSync(out.key, 0o600);
  rmSync(join(tlsDir, 'dc.csr'), { force: true });
  rmSync(join(tlsDir, 'dc.ext'), { force: true });
  return out;
}
