// A lock file so two `lab up` runs (e.g. test files started in parallel by node --test)
// do not load or start the same slapd twice. Stale locks (dead holder) are taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../src/util/errors.ts';
import { isAlive } from './process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function withLabLock<T>(labDir: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  mkdirSync(labDir, { recursive: true });
  const path = join(labDir, 'lab.lock');
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = Number.NaN;
      try {
        holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        continue; // released between our two calls
      }
      if (!Number.isInteger(holder) || holder === process.pid || !isAlive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > end) {
        throw new LabError(`another crossforest lab command (pid ${holder}) holds ${path}`, {
          object: path,
          hint: `wait for it to finish, or remove ${path} if pid ${holder} is not a crossforest process`,
        });
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
