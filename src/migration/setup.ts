// What every migration operation needs from the project file: the source and target
// organizations, the migration section, and connections with the accounts that may write
// users (never the GAL-sync account, which writes only its contacts container).
import type { LoadedProject } from '../config/load.ts';
import type { MigrationConfig, TargetStoreConfig } from '../config/migration.ts';
import { type OrganizationConfig, type OrgMailStore, orgMailStores, storeOfUser } from '../config/organization.ts';
import { resolveSecret } from '../config/secret.ts';
import { connectDirectory, type DirectoryConnection } from '../directory/connection.ts';
import { ConfigError, CrossforestError } from '../util/errors.ts';

export class MigrationError extends CrossforestError {}

export interface MigrationSetup {
  project: LoadedProject;
  config: MigrationConfig;
  sourceId: string;
  targetId: string;
  source: OrganizationConfig;
  target: OrganizationConfig;
}

export function migrationSetup(project: LoadedProject): MigrationSetup {
  const config = project.config.migration;
  if (!config) {
    throw new ConfigError(`${project.path} has no migration section`, {
      object: 'migration',
      hint: 'add one: `crossforest init` writes a commented example (directoryAccounts, targetContainer, targetStores)',
    });
  }
  const orgs = project.config.organizations;
  const pick = (id: string | undefined, role: 'source' | 'target'): string => {
    const key = id ?? Object.keys(orgs).find((k) => orgs[k]?.role === role);
    if (!key || !orgs[key]) {
      throw new ConfigError(`migration.${role}: no organization ${id ? `"${id}"` : `with role ${role}`}`, {
        object: `migration.${role}`,
        hint: `one of: ${Object.keys(orgs).join(', ')}`,
      });
    }
    return key;
  };
  const sourceId = pick(config.source, 'source');
  const targetId = pick(config.target, 'target');
  for (const id of [sourceId, targetId]) {
    if (!config.directoryAccounts[id]) {
      throw new ConfigError(`migration.directoryAccounts has no account for organization ${id}`, {
        object: `migration.directoryAccounts.${id}`,
        hint: 'pre-stage and cutover modify users in both directories: give an account that may (the GAL-sync account may not)',
      });
    }
  }
  const setup: MigrationSetup = {
    project,
    config,
    sourceId,
    targetId,
    source: orgs[sourceId] as OrganizationConfig,
    target: orgs[targetId] as OrganizationConfig,
  };
  // Every target store must name a mail server now, not at the first mailbox of a night.
  for (const name of Object.keys(config.targetStores))
    if (config.targetStores[name]?.organization === targetId) targetMailStore(setup, name);
  return setup;
}

/** The source server of a mailbox: its plan's (batch create found it from the directory), else the only one. */
export function sourceMailStore(setup: MigrationSetup, name: string | undefined): OrgMailStore {
  const stores = orgMailStores(setup.source, setup.sourceId);
  const hit = name === undefined ? (stores.length === 1 ? stores[0] : undefined) : stores.find((s) => s.name === name);
  if (!hit)
    throw new ConfigError(
      name === undefined
        ? `a mailbox of this batch has no source server recorded, and organization ${setup.sourceId} has ${stores.length}`
        : `the source server "${name}" of this mailbox is no longer in organizations.${setup.sourceId}.mailStores`,
      {
        object: name ?? `organizations.${setup.sourceId}.mailStores`,
        hint: `servers now: ${stores.map((s) => s.name).join(', ')}; put the server back, or remove and re-create the batch`,
      },
    );
  return hit;
}

/** The source server that holds a directory user (homeMDB, else msExchHomeServerName), or why none does. */
export function sourceStoreOfUser(
  setup: MigrationSetup,
  user: { homeMDB?: string | undefined; homeServerName?: string | undefined },
): OrgMailStore | string {
  const stores = orgMailStores(setup.source, setup.sourceId);
  const hit = storeOfUser(stores, user);
  if (hit) return hit;
  const found = user.homeMDB
    ? `homeMDB "${user.homeMDB}"${user.homeServerName ? ` and msExchHomeServerName "${user.homeServerName}"` : ''}`
    : user.homeServerName
      ? `msExchHomeServerName "${user.homeServerName}"`
      : 'no homeMDB';
  return `${found} matches no mail server of ${setup.sourceId} (${stores.map((s) => `${s.name}${s.homeMDB ? `: ${s.homeMDB}` : ''}`).join('; ')}): add the server to organizations.${setup.sourceId}.mailStores`;
}

/** The target organization's mail server a migration.targetStores entry writes to. */
export function targetMailStore(setup: MigrationSetup, name: string): OrgMailStore {
  const ts = targetStoreOf(setup, name);
  const stores = orgMailStores(setup.target, setup.targetId);
  const hit = ts.server ? stores.find((s) => s.name === ts.server) : storeOfUser(stores, { homeMDB: ts.homeMDB });
  if (!hit)
    throw new ConfigError(
      ts.server
        ? `migration.targetStores.${name}.server "${ts.server}" is not a mail server of organization ${setup.targetId}`
        : `migration.targetStores.${name}: its homeMDB matches no mail server of organization ${setup.targetId}`,
      {
        object: `migration.targetStores.${name}`,
        hint: `give server: one of ${stores.map((s) => s.name).join(', ')} (or that server's homeMDB)`,
      },
    );
  return hit;
}

export function targetStoreOf(setup: MigrationSetup, name: string): TargetStoreConfig {
  const st = setup.config.targetStores[name];
  if (!st) {
    throw new ConfigError(`unknown target store "${name}"`, {
      object: name,
      hint: `one of: ${Object.keys(setup.config.targetStores).join(', ') || '(none: add migration.targetStores)'}`,
    });
  }
  if (st.organization !== setup.targetId) {
    throw new ConfigError(`target store "${name}" belongs to organization ${st.organization}, not the target ${setup.targetId}`, {
      object: `migration.targetStores.${name}`,
    });
  }
  return st;
}

/** A directory connection of one side with the migration's account for it. */
export async function migrationDirectory(setup: MigrationSetup, side: 'source' | 'target'): Promise<DirectoryConnection> {
  const id = side === 'source' ? setup.sourceId : setup.targetId;
  const org = side === 'source' ? setup.source : setup.target;
  const acct = setup.config.directoryAccounts[id];
  if (!acct) throw new ConfigError(`migration.directoryAccounts.${id} is missing`, { object: `migration.directoryAccounts.${id}` });
  return connectDirectory(org.directory, {
    baseDir: setup.project.baseDir,
    keyPath: `organizations.${id}.directory`,
    bindAs: {
      dn: acct.bindDn,
      password: resolveSecret(acct.password, setup.project.baseDir, `migration.directoryAccounts.${id}.password`),
    },
  });
}

/** Both directories, closed in finally. */
export async function withDirectories<T>(
  setup: MigrationSetup,
  fn: (src: DirectoryConnection, tgt: DirectoryConnection) => Promise<T>,
): Promise<T> {
  const src = await migrationDirectory(setup, 'source');
  let tgt: DirectoryConnection | undefined;
  try {
    tgt = await migrationDirectory(setup, 'target');
    return await fn(src, tgt);
  } finally {
    await Promise.allSettled([src.close(), tgt?.close()]);
  }
}
