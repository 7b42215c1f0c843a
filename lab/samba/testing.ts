// For test files: bring the Samba DCs up once per process (through sambaUp, so the
// provisioning cache makes it ~1 s when nothing is running and ~0.1 s when they run)
// and hand back what the tests need. `sambaSkipReason()` is the only reason to skip.
import { existsSync } from 'node:fs';
import { silentLogger } from '../../src/util/logger.ts';
import type { LabContext } from '../context.ts';
import type { ForestId } from '../forests.ts';
import { FORESTS } from '../forests.ts';
import { readLabInfo } from '../lab.ts';
import { DEFAULT_SEED, DEFAULT_SIZE } from '../org/people.ts';
import { defaultLabDir } from '../paths.ts';
import { ensureSecrets, readSecret, secretPaths } from '../secrets.ts';
import { ensureLabCertificates } from '../tls.ts';
import { sambaInstalled } from './daemon.ts';
import { SAMBA_DCS, type SambaDc } from './dcs.ts';
import { type SambaStatus, sambaUp } from './index.ts';
import { readSambaSecret } from './secrets.ts';

export interface SambaLab {
  ctx: LabContext;
  dcs: Record<ForestId, SambaStatus>;
  dc: Record<ForestId, SambaDc>;
  caFile: string;
  adminPassword(forest: ForestId): string;
  usersPassword: string;
  galsyncPassword(forest: ForestId): string;
  /** Path of the Administrator password file (for `{ file }` secret references). */
  adminSecretFile(forest: ForestId): string;
  actions: string[];
}

/** Why Samba tests must skip, or undefined when they can run. */
export function sambaSkipReason(): string | undefined {
  return sambaInstalled() ? undefined : 'Samba AD DC binaries (samba, samba-tool) are not installed: run scripts/setup.sh as root';
}

let pending: Promise<SambaLab> | undefined;

export function ensureSamba(): Promise<SambaLab> {
  pending ??= (async () => {
    const labDir = defaultLabDir();
    ensureSecrets(labDir);
    const tls = await ensureLabCertificates(labDir);
    const info = readLabInfo(labDir);
    const ctx: LabContext = {
      labDir,
      size: info?.size ?? DEFAULT_SIZE,
      seed: info?.seed ?? DEFAULT_SEED,
      stores: info?.stores ?? 1,
      forests: FORESTS,
      secrets: secretPaths(labDir),
      tls,
      log: silentLogger,
    };
    const r = await sambaUp(ctx);
    const [a, b] = r.dcs;
    if (!a || !b || !existsSync(tls.caCert)) throw new Error('sambaUp returned no DC status');
    return {
      ctx,
      dcs: { a, b },
      dc: SAMBA_DCS,
      caFile: tls.caCert,
      adminPassword: (f) => readSambaSecret(labDir, SAMBA_DCS[f].adminSecret),
      usersPassword: readSecret(labDir, 'users.pw'),
      galsyncPassword: (f) => readSecret(labDir, `forest-${f}-galsync.pw`),
      adminSecretFile: (f) => r.dcs.find((d) => d.forest === f)?.adminSecretFile ?? '',
      actions: r.actions,
    };
  })();
  return pending;
}
