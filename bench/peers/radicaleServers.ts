// Radicale instances of a benchmark's own (not the lab's): each on a free loopback port with
// a scratch folder, the lab's rights file (calmigrate reads and writes every home, a user owns
// their own) and htpasswd logins, started with the lab's launcher (no fsync) unless fsync.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { run } from '../../lab/proc.ts';
import { isAlive, portOpen, stopPid, waitFor } from '../../lab/process.ts';
import { CALMIGRATE_USER, RADICALE_COMMAND, rightsFile } from '../../lab/radicale/radicale.ts';

/** Every login of a bench Radicale has this password. */
export const BENCH_PASSWORD = 'bench-only-password';
export const basicAuth = (user: string): string => `Basic ${Buffer.from(`${user}:${BENCH_PASSWORD}`).toString('base64')}`;
/** The calmigrate service account's Authorization header. */
export const CALMIGRATE_AUTH = basicAuth(CALMIGRATE_USER);

export interface BenchRadicale {
  /** http://127.0.0.1:<port> (no trailing slash). */
  url: string;
  pid: number;
  dir: string;
  /** Its storage's collection-root: `<upn>/<collection>/` folders. */
  root: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Starts a Radicale on `dir` (its storage under `dir/collections`, which may hold collections
 * already): calmigrate and every login of `logins` may log in with BENCH_PASSWORD.
 */
export async function startRadicale(
  dir: string,
  opts: { fsync?: boolean; logins?: readonly string[]; maxConnections?: number } = {},
): Promise<BenchRadicale> {
  const port = await freePort();
  const hash = (
    await run('openssl', ['passwd', '-apr1', '-stdin'], { input: `${BENCH_PASSWORD}\n`, what: 'bench htpasswd' })
  ).stdout.trim();
  writeFileSync(join(dir, 'users'), [CALMIGRATE_USER, ...(opts.logins ?? [])].map((u) => `${u}:${hash}\n`).join(''));
  writeFileSync(join(dir, 'rights'), rightsFile(null));
  writeFileSync(
    join(dir, 'config'),
    `[server]\nhosts = 127.0.0.1:${port}\nmax_connections = ${opts.maxConnections ?? 20}\n[auth]\ntype = htpasswd\nhtpasswd_filename = ${join(dir, 'users')}\n` +
      `htpasswd_encryption = md5\n[rights]\ntype = from_file\nfile = ${join(dir, 'rights')}\n[storage]\nfilesystem_folder = ${join(dir, 'collections')}\n` +
      '[web]\ntype = none\n[logging]\nlevel = warning\n',
  );
  const [cmd, ...launcher] = opts.fsync ? ['/usr/bin/radicale'] : RADICALE_COMMAND;
  const child = spawn(cmd as string, [...launcher, '--config', join(dir, 'config')], { stdio: 'ignore', detached: true });
  child.unref();
  const pid = child.pid as number;
  if ((await waitFor(async () => (!isAlive(pid) ? 'dead' : (await portOpen('127.0.0.1', port)) ? 'up' : null), 15_000)) !== 'up') {
    throw new Error(`radicale did not start on 127.0.0.1:${port}`);
  }
  return { url: `http://127.0.0.1:${port}`, pid, dir, root: join(dir, 'collections', 'collection-root') };
}

export async function stopRadicales(servers: readonly BenchRadicale[]): Promise<void> {
  for (const s of servers) await stopPid(s.pid, 10_000);
}
