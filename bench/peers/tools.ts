// The three ways of copying one mailbox that the bench compares, each run as a process
// under /usr/bin/time (wall seconds, peak RSS): crossforest (the CLI), mbsync (Debian
// isync), and `doveadm backup -R` with the imapc backend run by the target Dovecot.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { LabInfo } from '../../lab/lab.ts';

export interface RunResult {
  wallSeconds: number;
  peakRssKb: number;
  /** User + system CPU of the process and its children. */
  cpuSeconds: number;
  ok: boolean;
  output: string;
}

/** Runs a command under /usr/bin/time; `input` is written to its stdin (then closed). */
export function timed(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      '/usr/bin/time',
      ['-f', '@@TIME %e %M %U %S', cmd, ...args],
      { cwd: opts.cwd, maxBuffer: 64 << 20, timeout: 1_800_000 },
      (err, stdout, stderr) => {
        const m = /@@TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
        resolve({
          wallSeconds: m ? Number(m[1]) : Number.NaN,
          peakRssKb: m ? Number(m[2]) : 0,
          cpuSeconds: m ? Number(m[3]) + Number(m[4]) : Number.NaN,
          ok: !err,
          output: `${stdout}\n${stderr}`.slice(-2000),
        });
      },
    );
    child.stdin?.on('error', () => {}); // the command may exit before reading all of its input
    child.stdin?.end(opts.input ?? '');
  });
}

export type Tool = 'crossforest' | 'mbsync' | 'doveadm';
export const TOOLS: Tool[] = ['crossforest', 'mbsync', 'doveadm'];

export interface ToolEnv {
  info: LabInfo;
  projectFile: string;
  workDir: string;
  repo: string;
}

function conf(info: LabInfo, org: 'a' | 'b'): string {
  const details = info.mailStores.find((s) => s.forest === org)?.details as { conf?: string } | undefined;
  if (!details?.conf) throw new Error(`the lab has no Dovecot for forest ${org.toUpperCase()}: run \`crossforest lab up\` first`);
  return details.conf;
}
const secret = (info: LabInfo, name: string): string => join(info.labDir, 'secrets', name);

/** One copy (or re-run) of source → target with a tool. `key` names the tool's own state (mbsync). */
export function runTool(tool: Tool, env: ToolEnv, source: string, target: string, folders: string[]): Promise<RunResult> {
  if (tool === 'crossforest') return runCrossforest(env, [[source, target]], 1);
  if (tool === 'mbsync') {
    const dir = join(env.workDir, 'mbsync', target);
    mkdirSync(join(dir, 'state'), { recursive: true });
    const q = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;
    // Same transport as crossforest's project file: STARTTLS to A, implicit TLS to B.
    writeFileSync(
      join(dir, 'mbsyncrc'),
      [
        'IMAPAccount src',
        'Host localhost',
        'Port 1431',
        `User ${source}*admin`,
        `PassCmd "cat ${secret(env.info, 'mail-a-master.pw')}"`,
        'SSLType STARTTLS',
        `CertificateFile ${join(env.info.labDir, 'tls/ca.crt')}`,
        'PipelineDepth 50',
        '',
        'IMAPStore src',
        'Account src',
        'Path INBOX.',
        '',
        'IMAPAccount tgt',
        'Host localhost',
        'Port 9932',
        `User ${target}*admin`,
        `PassCmd "cat ${secret(env.info, 'mail-b-master.pw')}"`,
        'SSLType IMAPS',
        `CertificateFile ${join(env.info.labDir, 'tls/ca.crt')}`,
        'PipelineDepth 50',
        '',
        'IMAPStore tgt',
        'Account tgt',
        '',
        'Channel c',
        'Far :src:',
        'Near :tgt:',
        `Patterns ${folders.map(q).join(' ')}`,
        'Create Near',
        'Sync Pull',
        `SyncState ${join(dir, 'state')}/`,
        'CopyArrivalDate yes',
        '',
      ].join('\n'),
    );
    return timed('mbsync', ['-q', '-c', join(dir, 'mbsyncrc'), '-a']);
  }
  // doveadm: the target Dovecot pulls from store A over IMAP and writes its own storage.
  return timed('doveadm', [
    '-c',
    conf(env.info, 'b'),
    '-o',
    'imapc_host=127.0.0.1',
    '-o',
    'imapc_port=1431',
    '-o',
    `imapc_user=${source}`,
    '-o',
    'imapc_master_user=admin',
    '-o',
    `imapc_password=${readPw(secret(env.info, 'mail-a-master.pw'))}`,
    '-o',
    'imapc_features=rfc822.size fetch-headers modseq',
    '-o',
    'imapc_list_prefix=INBOX',
    '-o',
    'mail_prefetch_count=20',
    'backup',
    '-R',
    '-u',
    target,
    'imapc:',
  ]);
}

/**
 * crossforestRun.ts compiled as the CLI is (scripts/build.sh: esbuild, npm packages external),
 * once per bench process: the bench measures the JavaScript an installation runs, not tsx
 * transpiling at start. BENCH_FROM_SOURCE=1 runs the TypeScript through tsx instead.
 */
let compiled: string | undefined;
function compiledRunner(repo: string): string[] {
  if (process.env.BENCH_FROM_SOURCE === '1') return ['--import', 'tsx', join(repo, 'bench/peers/crossforestRun.ts')];
  if (!compiled) {
    compiled = join(repo, 'dist', 'bench', 'crossforestRun.mjs');
    buildSync({
      entryPoints: [join(repo, 'bench/peers/crossforestRun.ts')],
      outfile: compiled,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
  }
  return [compiled];
}

/** crossforest copies a batch in one process (as the migration pipeline will), `parallel` mailboxes at a time. */
export function runCrossforest(env: ToolEnv, pairs: [string, string][], parallel: number): Promise<RunResult> {
  return timed(process.execPath, [...compiledRunner(env.repo), env.projectFile, String(parallel), ...pairs.map(([s, t]) => `${s}=${t}`)], {
    cwd: env.repo,
  });
}

function readPw(path: string): string {
  return readFileSync(path, 'utf8').trim();
}
