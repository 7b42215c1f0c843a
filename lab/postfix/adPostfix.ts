// The Postfix pair of `lab up --directory samba`: postfix-a-ad and postfix-b-ad, the same
// directory routing as postfix-a / postfix-b (postfixConfig.ts, DirectoryRouting) read from
// the forest's Samba AD DC instead of slapd: over ldaps (certificate verified with the lab
// CA), bound as the DC's galsync account, search base the domain root. Mailbox users (homeMDB)
// are delivered by UPN over LMTP to dovecot-<x>-ad, targetAddress wins, the other forest's
// domain goes to the other AD Postfix. Ports in POSTFIX_AD_LAB (postfix.ts); the slapd pair
// runs beside it unchanged.
//
// AD compares mail, proxyAddresses and userPrincipalName case-insensitively, so the maps'
// `(proxyAddresses=smtp:%s)` also finds the `SMTP:` primary, as on the patched slapd schema.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS, type ForestId } from '../forests.ts';
import { withLabLock } from '../lock.ts';
import { AD_STORES } from '../mailstore/stores.ts';
import { SAMBA_DCS } from '../samba/dcs.ts';
import { readSecret } from '../secrets.ts';
import { POSTFIX_AD_LAB, type PostfixInstance, postfixMasterPid, startPostfix, stopPostfix } from './postfix.ts';
import type { PostfixSpec } from './postfixConfig.ts';

/** The instance folder: conf/, queue/, data/, mail/ (the catch-all), postfix.log. */
export function adPostfixDir(labDir: string, forest: ForestId): string {
  return join(labDir, POSTFIX_AD_LAB[forest].name);
}

/**
 * A world-readable copy of the lab CA beside the maps: the LDAP lookups run in Postfix
 * daemons that have dropped to the postfix user, which cannot enter `.lab/tls/`.
 */
function caCopyPath(labDir: string, forest: ForestId): string {
  return join(adPostfixDir(labDir, forest), 'conf', 'ldap-ca.crt');
}

/** One forest's AD Postfix: reads SAMBA_DCS[forest], delivers to AD_STORES[forest]. */
export function adPostfixSpec(labDir: string, forest: ForestId): PostfixSpec {
  const f = POSTFIX_AD_LAB[forest];
  const other = POSTFIX_AD_LAB[forest === 'a' ? 'b' : 'a'];
  const dc = SAMBA_DCS[forest];
  const tls = join(labDir, 'tls');
  return {
    name: `${forest}-ad`,
    dir: adPostfixDir(labDir, forest),
    mailDomain: f.mailDomain,
    smtpPort: f.smtpPort,
    submissionPort: f.submissionPort,
    relayhost: `[127.0.0.1]:${f.relayOutboundPort}`,
    routing: {
      ldapUrl: dc.ldapsUrl,
      baseDn: dc.baseDn,
      bindDn: dc.galsyncDn,
      // lab/samba loads galsync with the forest's galsync secret, as slapd does.
      bindPw: readSecret(labDir, `forest-${forest}-galsync.pw`),
      caFile: caCopyPath(labDir, forest),
      lmtp: `inet:127.0.0.1:${AD_STORES[forest].lmtpPort}`,
      peers: { [other.mailDomain]: `smtp:[127.0.0.1]:${other.smtpPort}` },
    },
    tls: existsSync(join(tls, 'server.crt')) ? { certFile: join(tls, 'server.crt'), keyFile: join(tls, 'server.key') } : undefined,
  };
}

/** Writes the CA copy when it differs; true when it did (a running instance then restarts). */
function writeCaCopy(ctx: LabContext, forest: ForestId): boolean {
  const path = caCopyPath(ctx.labDir, forest);
  const ca = readFileSync(ctx.tls.caCert);
  if (existsSync(path) && readFileSync(path).equals(ca)) return false;
  mkdirSync(join(adPostfixDir(ctx.labDir, forest), 'conf'), { recursive: true });
  writeFileSync(path, ca, { mode: 0o644 });
  return true;
}

/**
 * Starts (or keeps, when running with the same config) postfix-a-ad and postfix-b-ad. The
 * DCs (sambaUp, or ensureSamba in a test) and the AD stores (adMailStoresUp) should run
 * first, or mail waits in the queue until they do. Idempotent: with both running and
 * nothing changed it starts nothing. Own lock folder, like adMailStoresUp: `lab up` holds
 * lab.lock while it calls us, and tests call us directly.
 */
export async function adPostfixUp(ctx: LabContext): Promise<MailStoreStatus[]> {
  return withLabLock(join(ctx.labDir, 'postfix-ad-lock'), async () => {
    const started: PostfixInstance[] = [];
    for (const id of FOREST_IDS) {
      const spec = adPostfixSpec(ctx.labDir, id);
      if (writeCaCopy(ctx, id) && postfixMasterPid(spec.dir) !== null) {
        ctx.log.info({ postfix: POSTFIX_AD_LAB[id].name }, 'lab CA changed: restarting postfix');
        await stopPostfix(spec.dir);
      }
      started.push(await startPostfix(spec));
    }
    ctx.log.info({ pids: started.map((p) => p.pid) }, 'AD postfix up');
    return adPostfixStatus(ctx.labDir);
  });
}

/** Stops both (only the master PIDs they recorded); returns what was stopped. */
export async function adPostfixDown(ctx: LabContext): Promise<string[]> {
  const stopped: string[] = [];
  for (const id of FOREST_IDS) {
    const dir = adPostfixDir(ctx.labDir, id);
    const pid = postfixMasterPid(dir);
    await stopPostfix(dir);
    if (pid !== null) stopped.push(`${POSTFIX_AD_LAB[id].name} (pid ${pid})`);
  }
  return stopped;
}

/** What `lab status` and lab.json show (in `adMailStores`): ports, PID, the DC each reads. No secrets. */
export function adPostfixStatus(labDir: string): MailStoreStatus[] {
  return FOREST_IDS.map((id) => {
    const f = POSTFIX_AD_LAB[id];
    const dir = adPostfixDir(labDir, id);
    const pid = postfixMasterPid(dir);
    const other = POSTFIX_AD_LAB[id === 'a' ? 'b' : 'a'];
    return {
      name: f.name,
      forest: id,
      endpoints: { smtp: `127.0.0.1:${f.smtpPort}`, submission: `127.0.0.1:${f.submissionPort}` },
      pid,
      alive: pid !== null,
      dataDir: dir,
      details: {
        directory: SAMBA_DCS[id].ldapsUrl,
        realm: SAMBA_DCS[id].realm,
        bindDn: SAMBA_DCS[id].galsyncDn,
        lmtp: `127.0.0.1:${AD_STORES[id].lmtpPort}`,
        peers: { [other.mailDomain]: `127.0.0.1:${other.smtpPort}` },
        relayhost: `127.0.0.1:${f.relayOutboundPort}`,
        log: join(dir, 'postfix.log'),
      },
    };
  });
}
