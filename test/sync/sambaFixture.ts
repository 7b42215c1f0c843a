// A GAL-sync bench on the lab's Samba AD forests: the `crossforest init --directory
// samba` example project (examples/samba.yaml) in a temp folder with its own state
// store, the agents pointed at containers of their own (OU=<tag> under each forest's
// OU=Sites and OU=GAL Contacts), Administrator clients (over verified ldaps) to set up and
// inspect the DCs, and clean-up of everything created.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { parse, stringify } from 'yaml';
import type { ForestId } from '../../lab/forests.ts';
import { sambaPaths } from '../../lab/samba/dcs.ts';
import { grantDeletedObjectsRead as grantOnDc } from '../../lab/samba/deletedObjects.ts';
import { ensureSamba, type SambaLab } from '../../lab/samba/testing.ts';
import { exampleProjectFile } from '../../src/config/example.ts';
import { loadProject } from '../../src/config/load.ts';
import { guidToString } from '../../src/directory/ad/guid.ts';
import { type DirectoryEntry, toDirectoryEntry } from '../../src/directory/entry.ts';
import { escapeDnValue } from '../../src/directory/escape.ts';
import { openProjectState } from '../../src/state/store.ts';
import { createEngine, type SyncEngine } from '../../src/sync/engine.ts';
import { runProfile } from '../../src/sync/profiles.ts';
import { testStateConfig } from '../helpers/state.ts';
import type { SyncFixture } from './fixture.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface AgentDoc {
  organization: string;
  containers: string[];
  attributes: string[];
  provisioning?: { container: string };
  importFlows: { to: string; from?: string; extension?: { path: string; rule: string } }[];
  exportFlows: { to: string; from?: string; transforms?: unknown[] }[];
  joinRules: { extension?: { path: string; rule: string } }[];
  deltaDeletes?: string;
}
export interface ProjectDoc {
  state?: unknown;
  organizations: Record<string, { directory: Record<string, unknown> }>;
  sync: { agents: Record<string, AgentDoc> };
}

export interface SambaSyncFixture
  extends Pick<SyncFixture, 'tag' | 'dir' | 'configPath' | 'project' | 'engine' | 'store' | 'a' | 'b' | 'run'> {
  lab: SambaLab;
  sites: Record<ForestId, string>;
  gal: Record<ForestId, string>;
  /** Closes and reopens the state store and builds a new engine on the same project file (an engine restart). */
  restart(): Promise<void>;
  list(client: Client, base: string, attrs?: string[]): Promise<DirectoryEntry[]>;
  read(client: Client, dn: string, attrs?: string[]): Promise<DirectoryEntry | undefined>;
  guidOf(client: Client, dn: string): Promise<string>;
  /** A mail-enabled user (disabled account, no password: a GAL entry all the same). */
  addUser(client: Client, parent: string, cn: string, attrs: Record<string, string | string[]>): Promise<string>;
  cleanup(): Promise<void>;
}

export const CONTACT_ATTRS = ['cn', 'mail', 'targetAddress', 'proxyAddresses', 'displayName', 'mailNickname', 'objectClass', 'objectGUID'];

export async function adminClient(lab: SambaLab, forest: ForestId): Promise<Client> {
  const c = new Client({
    url: lab.dc[forest].ldapsUrl,
    timeout: 30_000,
    connectTimeout: 5_000,
    tlsOptions: { ca: readFileSync(lab.caFile) },
    strictDN: false,
  });
  await c.bind(lab.dc[forest].adminUpn, lab.adminPassword(forest));
  return c;
}

/** The lab grants galsync at provisioning; tests grant other accounts on the running DC the same way. */
export async function grantDeletedObjectsRead(lab: SambaLab, forest: ForestId, account: string): Promise<void> {
  const p = sambaPaths(lab.ctx.labDir, forest);
  await grantOnDc({ samLdb: p.samLdb, smbConf: p.smbConf, baseDn: lab.dc[forest].baseDn, account, realm: lab.dc[forest].realm });
}

export interface SambaFixtureOptions {
  /** Changes to the parsed project before it is written. */
  edit?: (doc: ProjectDoc, fx: { sites: Record<ForestId, string>; gal: Record<ForestId, string> }) => void;
}

export async function sambaSyncFixture(opts: SambaFixtureOptions = {}): Promise<SambaSyncFixture> {
  const lab = await ensureSamba();
  const tag = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const sites = { a: `OU=${tag},${lab.dc.a.sitesDn}`, b: `OU=${tag},${lab.dc.b.sitesDn}` };
  const gal = { a: `OU=${tag},${lab.dc.a.galContactsDn}`, b: `OU=${tag},${lab.dc.b.galContactsDn}` };
  const a = await adminClient(lab, 'a');
  const b = await adminClient(lab, 'b');
  const containers = [
    [a, sites.a],
    [a, gal.a],
    [b, sites.b],
    [b, gal.b],
  ] as const;
  for (const [c, dn] of containers) await c.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: tag });

  const doc = parse(exampleProjectFile('samba').replaceAll('.lab/', `${lab.ctx.labDir}/`)) as ProjectDoc;
  for (const [id, agent] of Object.entries(doc.sync.agents)) {
    const f = id as ForestId;
    agent.containers = [sites[f], gal[f]];
    if (agent.provisioning) agent.provisioning.container = gal[f];
    for (const list of [agent.importFlows, agent.joinRules])
      for (const flow of list) if (flow.extension) flow.extension.path = join(ROOT, flow.extension.path);
  }
  opts.edit?.(doc, { sites, gal });
  const dir = mkdtempSync(join(tmpdir(), 'cf-samba-sync-'));
  doc.state = testStateConfig(dir);
  const configPath = join(dir, 'crossforest.yaml');
  writeFileSync(configPath, stringify(doc));
  const firstProject = loadProject(configPath);

  const fx: SambaSyncFixture = {
    lab,
    tag,
    dir,
    configPath,
    project: firstProject,
    engine: undefined as unknown as SyncEngine,
    store: await openProjectState(firstProject),
    a,
    b,
    sites,
    gal,
    run: (profile, o) => runProfile(fx.engine, fx.store, profile, o),
    async restart() {
      await fx.store.close();
      fx.project = loadProject(configPath);
      fx.engine = await createEngine(fx.project);
      fx.store = await openProjectState(fx.project);
    },
    async list(client, base, attrs = CONTACT_ATTRS) {
      const names = new Map(attrs.map((x) => [x.toLowerCase(), x]));
      const res = await client.search(base, {
        scope: 'sub',
        filter: '(!(objectClass=organizationalUnit))',
        attributes: attrs,
        explicitBufferAttributes: ['objectGUID'],
      });
      return res.searchEntries.map((e) => toDirectoryEntry(e, names));
    },
    async read(client, dn, attrs = CONTACT_ATTRS) {
      const names = new Map(attrs.map((x) => [x.toLowerCase(), x]));
      try {
        const res = await client.search(dn, { scope: 'base', attributes: attrs, explicitBufferAttributes: ['objectGUID'] });
        return res.searchEntries[0] && toDirectoryEntry(res.searchEntries[0], names);
      } catch (err) {
        if ((err as { code?: unknown }).code === 32) return undefined;
        throw err;
      }
    },
    async guidOf(client, dn) {
      const e = (await client.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] }))
        .searchEntries[0];
      return guidToString(e?.objectGUID as Buffer);
    },
    async addUser(client, parent, cn, attrs) {
      const dn = `CN=${escapeDnValue(cn)},${parent}`;
      await client.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn,
        sn: cn.split(' ').at(-1) ?? cn,
        sAMAccountName: `${tag.slice(-6)}${cn.replace(/[^a-z0-9]/gi, '').slice(0, 12)}`,
        ...attrs,
      });
      return dn;
    },
    async cleanup() {
      await fx.store.close();
      for (const [c, base] of containers) {
        const res = await c.search(base, { scope: 'sub', filter: '(objectClass=*)', attributes: ['1.1'] }).catch(() => undefined);
        const dns = (res?.searchEntries ?? []).map((e) => e.dn);
        for (const dn of dns.sort((x, y) => y.split(',').length - x.split(',').length)) await c.del(dn).catch(() => {});
      }
      await a.unbind().catch(() => {});
      await b.unbind().catch(() => {});
    },
  };
  fx.engine = await createEngine(fx.project);
  return fx;
}

/** Values of an attribute, case-insensitively named. */
export function values(e: DirectoryEntry | undefined, attr: string): string[] {
  if (!e) return [];
  const k = Object.keys(e.attributes).find((x) => x.toLowerCase() === attr.toLowerCase());
  return k ? (e.attributes[k] as string[]) : [];
}
