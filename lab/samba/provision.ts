// Building one DC folder from nothing: `samba-tool domain provision`, a private start
// with schema updates allowed, the Exchange attributes, the sample organization, the
// galsync account's rights (read on CN=Deleted Objects after the stop), stop. The result goes into the provisioning cache.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import type { Logger } from 'pino';
import { sidToString } from '../../src/directory/ad/sid.ts';
import { LabError } from '../../src/util/errors.ts';
import { FORESTS } from '../forests.ts';
import { newCounts, type OrganizationCounts } from '../org/organization.ts';
import { run } from '../proc.ts';
import type { LabCertificates } from '../tls.ts';
import { cacheEntryDir, ensureCacheRoot } from './cache.ts';
import { startSamba, stopSamba } from './daemon.ts';
import { type SambaDc, sambaPathsIn } from './dcs.ts';
import { grantDeletedObjectsRead } from './deletedObjects.ts';
import { LOAD_CONCURRENCY, loadEntries, sambaAdminClient } from './load.ts';
import { adOrganization } from './organization.ts';
import { extendSchema } from './schema.ts';
import { writeSmbConf } from './smbConf.ts';
import { ensureDcCertificate } from './tls.ts';

export interface BuildInput {
  dc: SambaDc;
  key: string;
  size: number;
  seed: string;
  adminPassword: string;
  usersPassword: string;
  galsyncPassword: string;
  labTls: LabCertificates;
  log: Logger;
}

export interface BuildResult {
  dir: string;
  counts: OrganizationCounts;
  provisionSeconds: number;
  loadSeconds: number;
  entriesPerSecond: number;
}

const seconds = (t0: number) => Math.round(performance.now() - t0) / 1000;

/** DirSync's "Replicating Directory Changes" extended right (MS-ADTS 5.1.3.2.1). */
const GET_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';

async function dsacl(dc: SambaDc, conf: string, adminPassword: string, objectDn: string, sddl: string): Promise<void> {
  await run(
    'samba-tool',
    [
      'dsacl',
      'set',
      '-H',
      dc.ldapUrl,
      '-s',
      conf,
      '--use-kerberos=off',
      '-U',
      `${dc.domain}\\Administrator%${adminPassword}`,
      '--action=allow',
      `--objectdn=${objectDn}`,
      `--sddl=${sddl}`,
    ],
    { what: `Samba DC ${dc.realm} ACL on ${objectDn}`, timeoutMs: 60_000 },
  );
}

/** galsync: DirSync on the domain, full control below OU=GAL Contacts, nothing else beyond what any user may read. */
async function grantGalsync(client: Client, dc: SambaDc, conf: string, adminPassword: string): Promise<void> {
  const { searchEntries } = await client.search(dc.galsyncDn, {
    scope: 'base',
    attributes: ['objectSid'],
    explicitBufferAttributes: ['objectSid'],
  });
  const sidBytes = searchEntries[0]?.objectSid;
  if (!Buffer.isBuffer(sidBytes)) throw new LabError(`Samba DC ${dc.realm}: ${dc.galsyncDn} has no objectSid`, { object: dc.galsyncDn });
  const sid = sidToString(sidBytes);
  await dsacl(dc, conf, adminPassword, dc.baseDn, `(OA;;CR;${GET_CHANGES};;${sid})`);
  await dsacl(dc, conf, adminPassword, dc.galContactsDn, `(A;CI;GA;;;${sid})`);
}

export async function buildDc(input: BuildInput): Promise<BuildResult> {
  const { dc, log } = input;
  const root = ensureCacheRoot();
  const dir = join(root, `build-${dc.forest}-${process.pid}-${Date.now()}`);
  const paths = sambaPathsIn(dir);
  mkdirSync(dir, { recursive: true });
  let started = false;
  try {
    const t0 = performance.now();
    await run(
      'samba-tool',
      [
        'domain',
        'provision',
        '--use-rfc2307',
        `--realm=${dc.realm}`,
        `--domain=${dc.domain}`,
        '--server-role=dc',
        '--dns-backend=NONE',
        `--host-ip=${dc.host}`,
        `--host-name=${dc.hostName}`,
        `--option=interfaces=${dc.host}/8`,
        '--option=bind interfaces only=yes',
        `--targetdir=${dir}`,
        `--adminpass=${input.adminPassword}`,
      ],
      { what: `provisioning Samba DC ${dc.realm}`, timeoutMs: 180_000 },
    );
    const provisionSeconds = seconds(t0);
    const cert = await ensureDcCertificate(dc, paths.tlsDir, input.labTls);
    writeSmbConf(dc, dir, { schemaUpdates: true, tls: cert });
    await startSamba(dc, paths, log);
    started = true;
    const bind = { url: dc.ldapsUrl, ca: input.labTls.caCert, dn: dc.adminUpn, password: input.adminPassword };
    const admin = await sambaAdminClient(bind);
    const counts = newCounts();
    let loadSeconds = 0;
    let added = 0;
    try {
      // The lab's passwords are random and long; AD's complexity rules add nothing here.
      await admin.modify(
        dc.baseDn,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdProperties', values: ['0'] }) }),
      );
      await extendSchema(admin, dc);
      const pool = [admin, ...(await Promise.all(Array.from({ length: LOAD_CONCURRENCY - 1 }, () => sambaAdminClient(bind))))];
      const t1 = performance.now();
      try {
        const org = adOrganization(
          {
            forest: dc.forest,
            size: input.size,
            seed: input.seed,
            usersPassword: input.usersPassword,
            galsyncPassword: input.galsyncPassword,
          },
          FORESTS[dc.forest].mailboxStoreDn,
          counts,
        );
        added = await loadEntries(pool, org);
      } finally {
        await Promise.all(pool.slice(1).map((c) => c.unbind().catch(() => {})));
      }
      loadSeconds = seconds(t1);
      await grantGalsync(admin, dc, paths.smbConf, input.adminPassword);
    } finally {
      await admin.unbind().catch(() => {});
    }
    await stopSamba(dc, paths, log);
    started = false;
    // Tombstones for DirSync/Show Deleted: only writable through sam.ldb, so with the DC stopped.
    await grantDeletedObjectsRead({ samLdb: paths.samLdb, smbConf: paths.smbConf, baseDn: dc.baseDn, account: 'galsync', realm: dc.realm });
    // Per-lab-folder and runtime pieces stay out of the cache.
    for (const sub of ['tls', 'log', 'run']) rmSync(join(dir, sub), { recursive: true, force: true });
    const target = cacheEntryDir(dc.forest, input.key);
    try {
      renameSync(dir, target);
    } catch (err) {
      // Another process cached the same key first: theirs is as good as ours.
      if (!existsSync(join(target, 'private', 'sam.ldb'))) throw err;
    }
    return { dir: target, counts, provisionSeconds, loadSeconds, entriesPerSecond: loadSeconds > 0 ? Math.round(added / loadSeconds) : 0 };
  } finally {
    if (started) await stopSamba(dc, paths, log).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
