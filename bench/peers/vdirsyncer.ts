// vdirsyncer (Debian's 0.19) between two CalDAV/CardDAV servers: one config, a `caldav` pair
// and a `carddav` pair per user (both sides DAV storages: vdirsyncer syncs two ways, so a
// server-to-server copy is a pair of remote storages), `collections = ["from a"]`, the source
// side read-only, `conflict_resolution = "a wins"`, calendar metadata (displayname, color,
// description) synced by `metasync`. vdirsyncer reads the source as the calmigrate service
// account but logs in to the target as the user: it creates a missing collection under the
// logged-in account's own calendar-home-set (Discover.create → find_home), so as calmigrate
// it would put every user's collections in /calmigrate/. `discover` asks before creating a
// collection: it is answered "y" on stdin. 0.19 syncs every collection of every pair at once
// (asyncio.gather), at most 16 connections per server (aiohttp limit_per_host, not settable).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALMIGRATE_USER } from '../../lab/radicale/radicale.ts';
import { BENCH_PASSWORD } from './radicaleServers.ts';
import { type RunResult, timed } from './tools.ts';

/** vdirsyncer 0.19's connections per server (aiohttp TCPConnector(limit_per_host=16) in cli/__init__.py). */
export const VDIRSYNCER_CONNECTIONS = 16;

const q = (s: string): string => JSON.stringify(s);
const pairPrefix = (i: number): string => `u${String(i + 1).padStart(3, '0')}_`;

/** The pairs of the `i`th login (0-based) of the config. */
export const pairsOf = (i: number): string[] => [`${pairPrefix(i)}caldav`, `${pairPrefix(i)}carddav`];

/** Writes `<dir>/config` for copying every login's home from `sourceUrl` to `targetUrl`; returns its path. */
export function vdirsyncerConfig(dir: string, sourceUrl: string, targetUrl: string, logins: readonly string[]): string {
  mkdirSync(join(dir, 'status'), { recursive: true });
  const sections = [`[general]\nstatus_path = ${q(join(dir, 'status'))}\n`];
  logins.forEach((login, i) => {
    const home = `/${encodeURIComponent(login)}/`;
    for (const [kind, metadata] of [
      ['caldav', '["color", "displayname", "description"]'],
      ['carddav', '["displayname", "description"]'],
    ] as const) {
      const pair = `${pairPrefix(i)}${kind}`;
      sections.push(
        `[pair ${pair}]\na = "${pair}_a"\nb = "${pair}_b"\ncollections = ["from a"]\nconflict_resolution = "a wins"\nmetadata = ${metadata}\n`,
        `[storage ${pair}_a]\ntype = "${kind}"\nurl = ${q(`${sourceUrl}${home}`)}\nusername = ${q(CALMIGRATE_USER)}\npassword = ${q(BENCH_PASSWORD)}\nread_only = true\n`,
        `[storage ${pair}_b]\ntype = "${kind}"\nurl = ${q(`${targetUrl}${home}`)}\nusername = ${q(login)}\npassword = ${q(BENCH_PASSWORD)}\n`,
      );
    }
  });
  const path = join(dir, 'config');
  writeFileSync(path, sections.join('\n'), { mode: 0o600 });
  return path;
}

export type VdirsyncerCommand = 'discover' | 'sync' | 'metasync';

/** One vdirsyncer command over `pairs` (default: every pair of the config); discover: --no-list, every "create it?" answered yes. */
export function vdirsyncer(config: string, command: VdirsyncerCommand, pairs: readonly string[] = []): Promise<RunResult> {
  const args = ['-c', config, '-v', 'WARNING', command, ...(command === 'discover' ? ['--no-list'] : []), ...pairs];
  return timed('vdirsyncer', args, command === 'discover' ? { input: 'y\n'.repeat(10_000) } : {});
}
