// One Postfix per organization for the relay tests (and any throw-away instance a test
// needs, such as an open relay for the audit). Started as `postfix -c <dir>/conf start`
// and stopped by the master PID we read from its queue (checked against /proc so a
// recycled PID is never signalled).
//
// Lab topology (lab/README.md, "Postfix"): the policy relay is the smart host.
//   user ─▶ submission 587x ─▶ Postfix ─relayhost─▶ relay outbound 1002x ─▶ the Internet (a test sink)
//   the Internet ─▶ relay inbound 1012x ─▶ Postfix MX 252x ─▶ <dir>/mail/inbox/ (Maildir)
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../src/util/errors.ts';
import type { MailStoreStatus } from '../context.ts';
import { FORESTS } from '../forests.ts';
import { forestStores, STORES } from '../mailstore/stores.ts';
import { run } from '../proc.ts';
import { isAlive, pidOwnedBy, portOpen, readPidFile, stopPid, waitFor } from '../process.ts';
import { readSecret } from '../secrets.ts';
import { directoryMaps, mainCf, masterCf, type PostfixSpec } from './postfixConfig.ts';

export type { PostfixSpec } from './postfixConfig.ts';

/** Fixed lab facts (lab/README.md's table). */
export const POSTFIX_LAB = {
  a: { mailDomain: 'forest-a.test', smtpPort: 2525, submissionPort: 5871, relayOutboundPort: 10025, relayInboundPort: 10125 },
  b: { mailDomain: 'forest-b.test', smtpPort: 2526, submissionPort: 5872, relayOutboundPort: 10026, relayInboundPort: 10126 },
} as const;

/**
 * The Samba-mode pair (`lab up --directory samba`, lab/postfix/adPostfix.ts): postfix-a-ad and
 * postfix-b-ad route by their forest's AD DC and deliver to dovecot-<x>-ad. Ports clear of the
 * pair above, the audit test's throw-away instances (2535/2536, 5881/5882) and the rest of the
 * lab; the relayhost is the same policy relay outbound listener as the pair above (10025/10026).
 */
export const POSTFIX_AD_LAB = {
  a: { name: 'postfix-a-ad', mailDomain: 'forest-a.test', smtpPort: 2545, submissionPort: 5891, relayOutboundPort: 10025 },
  b: { name: 'postfix-b-ad', mailDomain: 'forest-b.test', smtpPort: 2546, submissionPort: 5892, relayOutboundPort: 10026 },
} as const;

const POSTFIX_UID = 102;
const POSTFIX_GID = 105;
const MAIL_UID = 8;

export interface PostfixInstance extends PostfixSpec {
  pid: number;
  /** The catch-all Maildir every local recipient's mail is delivered to. */
  maildir: string;
  logFile: string;
}

/** One organization's Postfix; `stores` = the lab's mail stores per forest (`--stores`, default 1). */
export function labPostfixSpec(labDir: string, org: 'a' | 'b', stores = 1): PostfixSpec {
  const f = POSTFIX_LAB[org];
  const other = org === 'a' ? 'b' : 'a';
  // With several stores, mail goes to the LMTP of the store the user's homeMDB names.
  const byStore =
    stores > 1
      ? forestStores(org, stores).map((st) => ({ key: st.key, homeMDB: st.homeMDB ?? '', lmtp: `inet:127.0.0.1:${st.lmtpPort}` }))
      : undefined;
  return {
    name: org,
    dir: join(labDir, `postfix-${org}`),
    mailDomain: f.mailDomain,
    smtpPort: f.smtpPort,
    submissionPort: f.submissionPort,
    relayhost: `[127.0.0.1]:${f.relayOutboundPort}`,
    routing: {
      ldapUrl: FORESTS[org].ldapUrl,
      baseDn: FORESTS[org].suffix,
      bindDn: FORESTS[org].galsyncDn,
      bindPw: readSecret(labDir, `forest-${org}-galsync.pw`),
      lmtp: `inet:127.0.0.1:${STORES[org].lmtpPort}`,
      ...(byStore ? { stores: byStore } : {}),
      peers: { [POSTFIX_LAB[other].mailDomain]: `smtp:[127.0.0.1]:${POSTFIX_LAB[other].smtpPort}` },
    },
    tls: existsSync(join(labDir, 'tls', 'server.crt'))
      ? { certFile: join(labDir, 'tls', 'server.crt'), keyFile: join(labDir, 'tls', 'server.key') }
      : undefined,
  };
}

/** True when the instance in `spec.dir` runs (whoever started it). */
export function postfixRunning(spec: PostfixSpec): boolean {
  return masterPid(spec) !== null;
}

function masterPid(spec: PostfixSpec): number | null {
  return postfixMasterPid(spec.dir);
}

/** The master PID of the instance whose folder is `dir`, when it runs (checked against /proc). */
export function postfixMasterPid(dir: string): number | null {
  const pid = readPidFile(join(dir, 'queue', 'pid', 'master.pid'));
  return pid !== null && isAlive(pid) && pidOwnedBy(pid, 'master') ? pid : null;
}

function writeIfChanged(path: string, text: string, secret = false): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  writeFileSync(path, text, { mode: secret ? 0o640 : 0o644 });
  if (secret) {
    chmodSync(path, 0o640);
    chownSync(path, 0, POSTFIX_GID);
  }
  return true;
}

/** Starts (or keeps, when running with the same config) one Postfix instance. */
export async function startPostfix(spec: PostfixSpec): Promise<PostfixInstance> {
  const conf = join(spec.dir, 'conf');
  for (const sub of ['conf', 'queue', 'data', 'mail']) mkdirSync(join(spec.dir, sub), { recursive: true });
  chownSync(join(spec.dir, 'data'), POSTFIX_UID, POSTFIX_GID);
  chownSync(join(spec.dir, 'mail'), MAIL_UID, MAIL_UID);
  const files: [string, string][] = [
    ['main.cf', mainCf(spec)],
    ['master.cf', masterCf(spec)],
    ...Object.entries(spec.routing ? directoryMaps(spec.routing) : {}),
  ];
  // LMTP maps of stores a smaller `--stores` dropped: main.cf no longer names them.
  let changed = false;
  for (const name of readdirSync(conf)) {
    if (/^ldap-lmtp-.+\.cf$/.test(name) && !files.some(([f]) => f === name)) {
      rmSync(join(conf, name), { force: true });
      changed = true;
    }
  }
  // Map files carry the directory password: readable by root and the postfix group only.
  changed = files
    .map(([name, text]) => writeIfChanged(join(conf, name), text, name.endsWith('.cf') && name !== 'main.cf' && name !== 'master.cf'))
    .reduce((any, c) => any || c, changed);
  const running = masterPid(spec);
  if (running !== null && !changed) return instance(spec, running);
  if (running !== null) await stopPostfix(spec.dir);
  // postfix(1) prints its reasons only to a terminal or syslog; our maillog_file has them.
  const res = await run('postfix', ['-c', conf, 'start'], { allowFailure: true, what: `postfix ${spec.name}` });
  const pid = await waitFor(async () => {
    const p = masterPid(spec);
    return p !== null && (await portOpen('127.0.0.1', spec.smtpPort)) && (await portOpen('127.0.0.1', spec.submissionPort)) ? p : null;
  }, 10_000);
  if (pid === null) {
    throw new LabError(`postfix ${spec.name} did not start (exit ${res.code}): ${tail(join(spec.dir, 'postfix.log'))}`, {
      object: conf,
      hint: `ports ${spec.smtpPort}/${spec.submissionPort} free? run \`postfix -c ${conf} check\``,
    });
  }
  return instance(spec, pid);
}

function instance(spec: PostfixSpec, pid: number): PostfixInstance {
  return { ...spec, pid, maildir: join(spec.dir, 'mail', 'inbox'), logFile: join(spec.dir, 'postfix.log') };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return 'no log';
  }
}

/** Stops the instance whose folder is `dir` (by the master PID it recorded). */
export async function stopPostfix(dir: string): Promise<void> {
  const conf = join(dir, 'conf');
  if (!existsSync(join(conf, 'main.cf'))) return;
  await run('postfix', ['-c', conf, 'stop'], { allowFailure: true, timeoutMs: 15_000 });
  const pid = readPidFile(join(dir, 'queue', 'pid', 'master.pid'));
  if (pid !== null && isAlive(pid) && pidOwnedBy(pid, 'master')) await stopPid(pid, 5_000);
}

/** Both organizations' Postfix (the lab orchestrator calls this), routing to `stores` mail stores per forest. */
export async function postfixUp(labDir: string, stores = 1): Promise<Record<'a' | 'b', PostfixInstance>> {
  const [a, b] = await Promise.all([startPostfix(labPostfixSpec(labDir, 'a', stores)), startPostfix(labPostfixSpec(labDir, 'b', stores))]);
  return { a, b };
}

export async function postfixDown(labDir: string): Promise<void> {
  await Promise.all([stopPostfix(join(labDir, 'postfix-a')), stopPostfix(join(labDir, 'postfix-b'))]);
}

/** What `lab status` shows for both organizations' Postfix. */
export function postfixLabStatus(labDir: string): MailStoreStatus[] {
  return (['a', 'b'] as const).map((org) => {
    const spec = labPostfixSpec(labDir, org);
    const pid = masterPid(spec);
    return {
      name: `postfix-${org}`,
      forest: org,
      endpoints: { smtp: `127.0.0.1:${spec.smtpPort}`, submission: `127.0.0.1:${spec.submissionPort}` },
      pid,
      alive: pid !== null,
      dataDir: spec.dir,
    };
  });
}
