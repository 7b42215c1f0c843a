// One forest's slapd: write its config, bulk-load it, start it, stop it by PID.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { LabError } from '../../src/util/errors.ts';
import { sourcePath } from '../../src/util/sourceTree.ts';
import type { ForestInfo } from '../forests.ts';
import { newCounts, type OrganizationCounts, type OrganizationInput, sampleOrganization } from '../org/organization.ts';
import { run } from '../proc.ts';
import { isAlive, pidOwnedBy, portOpen, readPidFile, stopPid, waitFor } from '../process.ts';
import type { LabCertificates } from '../tls.ts';
import { ldifChunks } from './ldif.ts';
import { writeMsuserSchema } from './msuserSchema.ts';
import { type SlapdPaths, slapdConfig } from './slapdConfig.ts';
import { sshaHash } from './ssha.ts';

export const CROSSFOREST_SCHEMA = sourcePath('lab', 'schema', 'crossforest.schema');
// msuser.schema needs nis (homeDirectory) and inetorgperson; order as Debian loads them.
const SYSTEM_SCHEMAS = ['core', 'cosine', 'nis', 'inetorgperson'].map((n) => `/etc/ldap/schema/${n}.schema`);

export function slapdPaths(labDir: string, forest: ForestInfo): SlapdPaths {
  const dir = join(labDir, 'slapd', forest.id);
  return {
    dir,
    conf: join(dir, 'slapd.conf'),
    dataDir: join(dir, 'data'),
    accesslogDir: join(dir, 'accesslog'),
    pidFile: join(dir, 'slapd.pid'),
    argsFile: join(dir, 'slapd.args'),
    logFile: join(dir, 'slapd.log'),
  };
}

function label(f: ForestInfo): string {
  return `slapd forest ${f.id.toUpperCase()}`;
}

/** Writes schema copy + slapd.conf and checks them with slaptest. */
export async function writeSlapdConfig(
  labDir: string,
  forest: ForestInfo,
  tls: LabCertificates,
  adminPassword: string,
): Promise<SlapdPaths> {
  const paths = slapdPaths(labDir, forest);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const msuser = writeMsuserSchema(join(labDir, 'slapd', 'schema', 'msuser.schema'));
  const text = slapdConfig({
    forest,
    paths,
    tls,
    schemaFiles: [...SYSTEM_SCHEMAS, msuser, CROSSFOREST_SCHEMA],
    rootPwHash: sshaHash(adminPassword),
  });
  writeFileSync(paths.conf, text, { mode: 0o600 });
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(paths.accesslogDir, { recursive: true, mode: 0o700 });
  const t = await run('slaptest', ['-u', '-f', paths.conf], { allowFailure: true, what: label(forest) });
  if (t.code !== 0) {
    throw new LabError(`${label(forest)}: slaptest rejects ${paths.conf}: ${t.stderr.trim().split('\n').slice(-3).join(' | ')}`, {
      object: paths.conf,
      hint: 'the generated config or lab/schema/crossforest.schema is wrong; run `slaptest -u -f` on it for details',
    });
  }
  return paths;
}

/**
 * Wipes the forest's databases and bulk-loads the sample organization with
 * `slapadd -q -w` (slapd must be stopped). The LDIF is generated lazily and streamed
 * into slapadd's stdin, so memory does not grow with --size.
 */
export async function loadForest(
  paths: SlapdPaths,
  forest: ForestInfo,
  input: OrganizationInput,
  log: Logger,
): Promise<OrganizationCounts> {
  for (const d of [paths.dataDir, paths.accesslogDir]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  const counts = newCounts();
  const child = spawn('slapadd', ['-f', paths.conf, '-b', forest.suffix, '-q', '-w'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  try {
    await pipeline(Readable.from(ldifChunks(sampleOrganization(input, counts))), child.stdin);
  } catch (err) {
    // slapadd stopped reading (it failed): its exit status and stderr say why.
    log.debug({ err }, 'LDIF stream to slapadd ended early');
  }
  const code = await exited;
  if (code !== 0) {
    throw new LabError(
      `${label(forest)}: slapadd failed (exit ${code}) after ${counts.entries} entries: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      {
        object: paths.dataDir,
        hint: 'run `crossforest lab reset`; if it fails again, the sample generator produced an entry the schema refuses',
      },
    );
  }
  return counts;
}

export interface SlapdState {
  pid: number | null;
  alive: boolean;
}

export function slapdState(paths: SlapdPaths): SlapdState {
  const pid = readPidFile(paths.pidFile);
  const alive = pid !== null && isAlive(pid) && pidOwnedBy(pid, 'slapd', paths.conf);
  return { pid: alive ? pid : null, alive };
}

/** Starts slapd in the background (foreground mode under our own detached child) and waits for its port. */
export async function startSlapd(paths: SlapdPaths, forest: ForestInfo, log: Logger): Promise<number> {
  const state = slapdState(paths);
  if (state.alive && state.pid !== null) return state.pid;
  if (existsSync(paths.pidFile)) rmSync(paths.pidFile, { force: true }); // stale
  for (const port of [forest.ldapPort, forest.ldapsPort]) {
    if (await portOpen(forest.host, port)) {
      throw new LabError(`${label(forest)}: port ${forest.host}:${port} is already in use by another process`, {
        object: `${forest.host}:${port}`,
        hint: `find it with \`ss -ltnp 'sport = :${port}'\` and stop it (or run \`crossforest lab down\` if it is an older lab)`,
      });
    }
  }
  const urls = `ldap://${forest.host}:${forest.ldapPort}/ ldaps://${forest.host}:${forest.ldapsPort}/`;
  const logFd = openSync(paths.logFile, 'a');
  // `-d 0` keeps slapd in the foreground so its errors reach our log file; our child
  // is detached and unref'd so it outlives this process.
  const child = spawn('slapd', ['-f', paths.conf, '-h', urls, '-d', '0'], { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new LabError(`${label(forest)}: could not start slapd`, { hint: 'is slapd installed (/usr/sbin/slapd)?' });
  const ok = await waitFor(async () => {
    if (!isAlive(pid)) return 'dead';
    return (await portOpen(forest.host, forest.ldapPort)) && (await portOpen(forest.host, forest.ldapsPort)) ? 'up' : null;
  }, 15_000);
  if (ok !== 'up') {
    const tail = existsSync(paths.logFile) ? readFileSync(paths.logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
    if (isAlive(pid)) await stopPid(pid, 5_000);
    throw new LabError(`${label(forest)} did not come up on ${urls}${tail ? `: ${tail}` : ''}`, {
      object: paths.conf,
      hint: `see ${paths.logFile}; check the config with \`slaptest -u -f ${paths.conf}\``,
    });
  }
  log.debug({ forest: forest.id, pid }, 'slapd started');
  return pid;
}

export async function stopSlapd(paths: SlapdPaths, forest: ForestInfo, log: Logger): Promise<boolean> {
  const state = slapdState(paths);
  if (!state.alive || state.pid === null) {
    rmSync(paths.pidFile, { force: true });
    return false;
  }
  const stopped = await stopPid(state.pid, 15_000);
  if (!stopped) {
    throw new LabError(`${label(forest)} (pid ${state.pid}) did not exit`, {
      object: String(state.pid),
      hint: `kill -9 ${state.pid}, then run \`crossforest lab up\``,
    });
  }
  rmSync(paths.pidFile, { force: true });
  log.debug({ forest: forest.id, pid: state.pid }, 'slapd stopped');
  return true;
}
