// `crossforest lab up|down|status|reset [--size N] [--seed S] [--stores N] [--yes|--keep-state]`: thin wrapper over
// lab/lab.ts. Progress on stderr; a table of endpoints (or --json) on stdout.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from '@commander-js/extra-typings';
import { type LabInfo, labDown, labReset, labStatus, labUp } from '../../../lab/lab.ts';
import { MAX_STORES } from '../../../lab/mailstore/stores.ts';
import { loadProject } from '../../config/load.ts';
import { stateLocation } from '../../config/state.ts';
import { displayUrl } from '../../state/postgres.ts';
import { resetStateStore } from '../../state/reset.ts';
import { LabError } from '../../util/errors.ts';
import { createLogger } from '../../util/logger.ts';
import { globals } from '../context.ts';
import { printJson, printTable, progress } from '../output.ts';

interface EndpointRow {
  daemon: string;
  endpoint: string;
  pid: number | null;
  alive: boolean;
  detail: string;
}

function endpointRows(info: LabInfo): EndpointRow[] {
  const rows: EndpointRow[] = [];
  for (const f of [info.forests.a, info.forests.b]) {
    const data = f.loaded ? `${f.suffix}, ${f.loaded.counts.users.toLocaleString('en-US')} users` : `${f.suffix}, no data`;
    rows.push({ daemon: `slapd ${f.id.toUpperCase()}`, endpoint: f.ldapUrl, pid: f.pid, alive: f.alive, detail: data });
    rows.push({ daemon: `slapd ${f.id.toUpperCase()}`, endpoint: f.ldapsUrl, pid: f.pid, alive: f.alive, detail: 'TLS (lab CA)' });
  }
  for (const d of info.samba ?? []) {
    const data = d.loaded ? `${d.baseDn}, ${d.loaded.size.toLocaleString('en-US')} users` : `${d.baseDn}, no data`;
    rows.push({
      daemon: `samba ${d.forest.toUpperCase()}`,
      endpoint: d.endpoints.ldap,
      pid: d.pid,
      alive: d.alive,
      detail: `${d.realm}: ${data}`,
    });
    rows.push({
      daemon: `samba ${d.forest.toUpperCase()}`,
      endpoint: d.endpoints.ldaps,
      pid: d.pid,
      alive: d.alive,
      detail: 'TLS (lab CA)',
    });
  }
  // The Samba-mode Dovecots and Postfix (adMailStores) and PostgreSQL are listed too: status says everything that runs.
  for (const m of [...info.mailStores, ...(info.adMailStores ?? []), ...(info.postgres ? [info.postgres] : [])]) {
    // The Samba-mode daemons name the DC they read (details.directory).
    const dc = typeof m.details?.directory === 'string' ? m.details.directory : undefined;
    const detail = [m.dataDir, dc ? `reads ${dc}` : undefined].filter((x) => x).join(', ');
    for (const [proto, addr] of Object.entries(m.endpoints)) {
      rows.push({ daemon: m.name, endpoint: `${proto}://${addr}`, pid: m.pid, alive: m.alive, detail });
    }
  }
  return rows;
}

function printInfo(info: LabInfo, json: boolean): void {
  if (json) {
    printJson(info);
    return;
  }
  printTable(endpointRows(info), [
    { header: 'daemon', value: (r) => r.daemon },
    { header: 'endpoint', value: (r) => r.endpoint },
    { header: 'pid', value: (r) => (r.pid === null ? '' : String(r.pid)), align: 'right' },
    { header: 'alive', value: (r) => r.alive },
    { header: 'detail', value: (r) => r.detail },
  ]);
  process.stderr.write(
    `lab folder ${info.labDir} (size ${info.size}, seed ${info.seed}, ${info.stores ?? 1} mail store${(info.stores ?? 1) > 1 ? 's' : ''} per forest); secrets in ${info.labDir}/secrets/, CA ${info.tls.caCert}\n`,
  );
  if (info.mailStoresError) process.stderr.write(`mail stores: ${info.mailStoresError}\n`);
}

function parseDirectory(v: string): 'openldap' | 'samba' {
  if (v === 'openldap' || v === 'samba') return v;
  throw new LabError(`--directory must be openldap or samba, got "${v}"`, {
    hint: 'samba also runs two Samba AD DCs (127.0.0.2, 127.0.0.3) beside slapd',
  });
}

function parseSize(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new LabError(`--size must be a positive whole number, got "${v}"`, { hint: 'e.g. --size 50' });
  return n;
}

function parseStores(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_STORES)
    throw new LabError(`--stores must be a whole number from 1 to ${MAX_STORES}, got "${v}"`, {
      hint: 'Dovecot servers per forest: 1 is dovecot-a / dovecot-b alone, 2 adds dovecot-a2 / dovecot-b2 …',
    });
  return n;
}

export function registerLab(program: Command<[], Record<string, unknown>>): void {
  const lab = program
    .command('lab')
    .description('start, stop and inspect the two-organization lab (slapd ×2, Dovecot ×2 or --stores N per forest) on 127.0.0.1');

  const common = (cmd: Command<unknown[], Record<string, unknown>>) => {
    const g = globals(cmd);
    return { json: Boolean(g.json), log: createLogger({ verbose: Boolean(g.verbose) }), onProgress: progress };
  };

  lab
    .command('up')
    .description('start the lab (idempotent; reloads the sample data only when --size/--seed change)')
    .option('--size <n>', 'sample users per forest (default: as loaded, else 50)', parseSize)
    .option('--seed <s>', 'seed of the sample organization (default: as loaded, else "crossforest")')
    .option('--directory <kind>', 'samba: also run two Samba AD DCs; openldap: stop them (default: as before)', parseDirectory)
    .option(
      '--stores <n>',
      `Dovecot mail servers per forest, 1 to ${MAX_STORES}; the mailboxes are spread over them by homeMDB (default: as last started, else 1)`,
      parseStores,
    )
    .action(async (opts, cmd) => {
      const c = common(cmd);
      const t0 = performance.now();
      const info = await labUp({
        size: opts.size,
        seed: opts.seed,
        stores: opts.stores,
        directory: opts.directory,
        log: c.log,
        onProgress: c.onProgress,
      });
      progress(info.actions.length ? `lab up in ${((performance.now() - t0) / 1000).toFixed(1)} s` : 'lab already up: nothing to do');
      printInfo(info, c.json);
    });

  lab
    .command('down')
    .description('stop every lab daemon we started (by recorded PID)')
    .action(async (_opts, cmd) => {
      const c = common(cmd);
      const stopped = await labDown({ log: c.log, onProgress: c.onProgress });
      if (c.json) printJson({ stopped });
      else progress(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
    });

  lab
    .command('status')
    .description('what runs where: endpoints, PIDs, liveness')
    .action(async (_opts, cmd) => {
      const c = common(cmd);
      const info = await labStatus({ log: c.log });
      printInfo(info, c.json);
      const down =
        [info.forests.a, info.forests.b, ...(info.samba ?? [])].filter((f) => !f.alive).length +
        [...info.mailStores, ...(info.adMailStores ?? []), ...(info.postgres ? [info.postgres] : [])].filter((m) => !m.alive).length;
      if (down > 0) process.exitCode = 1;
    });

  lab
    .command('reset')
    .description(
      "start the project over: down, wipe the lab data (secrets and TLS kept), up; and the project's state store (batches, sync state, run history), backed up first — asked on a terminal, or --yes",
    )
    .option('--size <n>', 'sample users per forest', parseSize)
    .option('--seed <s>', 'seed of the sample organization')
    .option('--directory <kind>', 'samba: also run two Samba AD DCs; openldap: stop them', parseDirectory)
    .option('--stores <n>', `Dovecot mail servers per forest, 1 to ${MAX_STORES} (default: as before, else 1)`, parseStores)
    .option('--yes', "reset the project's state store too without asking")
    .option('--keep-state', "reset the lab only; the project's state store stays as it is")
    .action(async (opts, cmd) => {
      const c = common(cmd);
      // The state first: a store in use refuses the whole reset before the lab is touched.
      const state = await resetProjectState(globals(cmd).config, { yes: Boolean(opts.yes), keep: Boolean(opts.keepState) });
      const info = await labReset({
        size: opts.size,
        seed: opts.seed,
        stores: opts.stores,
        directory: opts.directory,
        log: c.log,
        onProgress: c.onProgress,
      });
      if (c.json) printJson({ ...info, state });
      else {
        printInfo(info, false);
        progress(state.message);
        progress('kept: the lab secrets/ and tls/, the project file, reports/ (earlier batch reports)');
      }
    });
}

interface ProjectStateOutcome {
  /** reset (backup written), kept (and why), or none (no project file or no store yet). */
  outcome: 'reset' | 'kept' | 'none';
  path?: string;
  backup?: string;
  message: string;
}

/** Resets the state store of the project file in use, when there is one and the operator agrees. */
async function resetProjectState(configPath: string, opts: { yes: boolean; keep: boolean }): Promise<ProjectStateOutcome> {
  if (!existsSync(configPath)) return { outcome: 'none', message: `no project file ${configPath}: only the lab was reset` };
  const project = loadProject(configPath);
  const loc = stateLocation(project.config.state);
  // A PostgreSQL store is the database administrator's: backed up with pg_dump, dropped and
  // created again by them; crossforest never drops a shared database on its own.
  if (loc.engine === 'postgres')
    return {
      outcome: 'kept',
      message: `state store ${displayUrl(loc.url)} kept: a PostgreSQL state store is reset by its administrator (pg_dump, then drop and create the database)`,
    };
  const path = resolve(project.baseDir, loc.path);
  if (!existsSync(path)) return { outcome: 'none', path, message: `state store ${path} does not exist yet: nothing to reset` };
  if (opts.keep)
    return {
      outcome: 'kept',
      path,
      message: `state store ${path} kept (--keep-state): its batches and sync state still refer to the old lab data`,
    };
  let agreed = opts.yes;
  if (!agreed && process.stdin.isTTY && process.stderr.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(
      `Reset the state store ${path} too (batches, sync state, run history)? A backup is kept beside it. [y/N] `,
    );
    rl.close();
    agreed = /^y(es)?$/i.test(answer.trim());
  }
  if (!agreed) {
    return {
      outcome: 'kept',
      path,
      message: `state store ${path} kept: its batches and sync state still refer to the old lab data; \`crossforest lab reset --yes\` resets it too (a backup is kept)`,
    };
  }
  const done = resetStateStore(path);
  return {
    outcome: 'reset',
    path,
    ...(done.backup ? { backup: done.backup } : {}),
    message: `state store ${path} reset; the old one is kept as ${done.backup}`,
  };
}
