// Initial passwords of the users pre-stage creates in Active Directory. A password cannot be
// copied between forests (AD never hands out a hash), so each new user gets a generated one.
// It is kept in one place only: the state store, sealed with AES-256-GCM under the key in
// migration.targetUsers.passwordKeyFile (every worker host has the same file), so a copy of
// the state store alone reveals nothing. `crossforest batch password <user>` opens it for an
// operator. It never goes into a log, a report, an error message or a notice. Node's crypto
// does all of this; no library is needed for one cipher.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { StateStore } from '../state/store.ts';
import { ConfigError } from '../util/errors.ts';
import { strongPassword } from '../util/password.ts';
import { MigrationError, type MigrationSetup } from './setup.ts';

/** A password with every class AD's complexity rule counts (upper, lower, digit, symbol), in random places. */
export const generatePassword = (length: number): string => strongPassword(length);

/** The sealing key: 32 bytes from the key file (hex), the file created 0600 when missing. */
export function passwordKey(setup: MigrationSetup): Buffer {
  const name = setup.config.targetUsers.passwordKeyFile;
  if (!name)
    throw new ConfigError('migration.targetUsers.passwordKeyFile is not set: an enabled AD user needs an initial password kept sealed', {
      object: 'migration.targetUsers.passwordKeyFile',
      hint: 'give a file name such as secrets/initial-passwords.key (created at the first pre-stage), or set targetUsers.enabled: false',
    });
  const path = resolve(setup.project.baseDir, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw keyError(path, (err as Error).message);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(path, (e as Error).message);
    }
    chmodSync(path, 0o600);
    text = readFileSync(path, 'utf8');
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw keyError(path, 'it does not hold 64 hex digits (32 bytes)');
  return Buffer.from(hex, 'hex');
}

function keyError(path: string, why: string): ConfigError {
  return new ConfigError(`initial-password key file ${path}: ${why}`, {
    object: 'migration.targetUsers.passwordKeyFile',
    hint: 'every worker host needs the same file; a lost key makes the stored initial passwords unreadable (reset them in AD)',
  });
}

/** iv (12) | tag (16) | ciphertext, base64; the mailbox id is bound in as additional data. */
export function seal(key: Buffer, mailboxId: number, password: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(`mailbox:${mailboxId}`));
  const body = Buffer.concat([c.update(password, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

export function unseal(key: Buffer, mailboxId: number, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAAD(Buffer.from(`mailbox:${mailboxId}`));
  d.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  } catch {
    throw new MigrationError('CF_ERR_INITIAL_PASSWORD', `the initial password of mailbox ${mailboxId} does not open with this key`, {
      object: String(mailboxId),
      hint: 'the key file is not the one it was sealed with (another host, or a new key): reset the password in AD',
    });
  }
}

/** Kept once: a re-run of pre-stage after a crash must find the password the user was created with. */
export async function storeInitialPassword(store: StateStore, mailboxId: number, sealed: string): Promise<void> {
  await store.sql.run(
    'INSERT INTO migration_initial_password (mailbox_id, sealed, created_at) VALUES (?, ?, ?) ON CONFLICT (mailbox_id) DO NOTHING',
    [mailboxId, sealed, new Date().toISOString()],
  );
}

export async function sealedInitialPassword(store: StateStore, mailboxId: number): Promise<string | undefined> {
  const row = await store.sql.get<{ sealed: string }>('SELECT sealed FROM migration_initial_password WHERE mailbox_id = ?', [mailboxId]);
  return row?.sealed;
}

/** The user's initial password: the one sealed before, or a new one sealed now. */
export async function initialPasswordFor(setup: MigrationSetup, store: StateStore, mailboxId: number): Promise<string> {
  const key = passwordKey(setup);
  const before = await sealedInitialPassword(store, mailboxId);
  if (before) return unseal(key, mailboxId, before);
  await storeInitialPassword(store, mailboxId, seal(key, mailboxId, generatePassword(setup.config.targetUsers.passwordLength)));
  // Read back: with two workers racing, the one row that landed is the password used.
  return unseal(key, mailboxId, (await sealedInitialPassword(store, mailboxId)) as string);
}
