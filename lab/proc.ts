// Running the lab's helper programs (openssl, slapadd, slaptest …) with explicit
// argument arrays: never a shell string, so no value is ever re-parsed by a shell.
import { spawn } from 'node:child_process';
import { LabError } from '../src/util/errors.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Milliseconds before the child is killed; default 60 s. */
  timeoutMs?: number;
  /** Fed to the child's stdin, then closed. */
  input?: string;
  /** Resolve with a non-zero code instead of throwing. */
  allowFailure?: boolean;
  /** Who the failure is about, for the error message (e.g. `slapd forest A`). */
  what?: string;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new LabError(`${opts.what ?? cmd}: cannot run ${cmd}: ${err.message}`, {
          object: cmd,
          hint: 'install the Debian package that provides it (see lab/README.md)',
          cause: err,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !opts.allowFailure) {
        reject(
          new LabError(
            `${opts.what ?? cmd}: ${cmd} ${args[0] ?? ''} failed (exit ${result.code}${signal ? `, ${signal}` : ''}): ${lastLines(stderr || stdout)}`,
            {
              object: cmd,
            },
          ),
        );
        return;
      }
      resolve(result);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

function lastLines(text: string, n = 4): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
