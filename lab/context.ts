// The contract between the lab's orchestration (lab.ts, the directory half) and the
// mail-store half (lab/mailstore/index.ts): what `lab up` hands to the hooks, and what
// they report back. Kept tiny and free of imports from either half so both can evolve.
import type { Logger } from 'pino';
import type { ForestId, ForestInfo } from './forests.ts';
import type { LabSecretPaths } from './secrets.ts';
import type { LabCertificates } from './tls.ts';

export interface LabContext {
  /** Absolute path of the lab data folder (`.lab/` or $CROSSFOREST_LAB_DIR). */
  labDir: string;
  /** Sample users per forest (`--size`). */
  size: number;
  /** PRNG seed of the sample organization (`--seed`). */
  seed: string;
  /** Dovecot mail stores per forest (`--stores`, 1 to 4): store 1 is dovecot-a / dovecot-b. */
  stores: number;
  /** Fixed facts of each forest: ports, suffix, admin/galsync DNs, mail domain. */
  forests: Record<ForestId, ForestInfo>;
  /** Absolute paths of the secret files (first line = the secret). */
  secrets: LabSecretPaths;
  /** Absolute paths of the lab CA, server certificate and key (PEM). */
  tls: LabCertificates;
  log: Logger;
}

/** What one mail store reports after `up` and for `status`. */
export interface MailStoreStatus {
  /** e.g. `dovecot-a`. */
  name: string;
  forest: ForestId;
  /** Endpoints as `host:port` with a protocol label, e.g. { imap: '127.0.0.1:1431' }. */
  endpoints: Record<string, string>;
  pid: number | null;
  alive: boolean;
  /** Data folder of this store. */
  dataDir?: string;
  /** Anything else worth recording in lab.json (mailbox counts, config path …). */
  details?: Record<string, unknown>;
}

/** Implemented by lab/mailstore/index.ts; loaded dynamically so the directory half works alone. */
export interface MailStoreHooks {
  mailStoresUp(ctx: LabContext): Promise<MailStoreStatus[]>;
  mailStoresDown(ctx: LabContext): Promise<void>;
  mailStoresStatus(ctx: LabContext): Promise<MailStoreStatus[]>;
}
