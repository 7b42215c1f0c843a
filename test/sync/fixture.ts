// A GAL-sync test bench on the lab: a project file and state store of its own in a temp
// folder, the example sync section pointed at containers of its own (ou=<tag> under
// each forest's GAL Contacts, and, for "own" scope, under ou=Sites), admin clients to set
// up and inspect the directories, and clean-up of everything it created.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { parse, stringify } from 'yaml';
import { exampleProjectFile } from '../../src/config/example.ts';
import { type LoadedProject, loadProject } from '../../src/config/load.ts';
import type { DirectoryEntry } from '../../src/directory/entry.ts';
import { escapeDnValue } from '../../src/directory/escape.ts';
import { readEntry, searchEntries } from '../../src/directory/import.ts';
import { openProjectState, type StateStore } from '../../src/state/store.ts';
import { createEngine, type SyncEngine } from '../../src/sync/engine.ts';
import { type RunOptions, runProfile } from '../../src/sync/profiles.ts';
import type { RunRecord } from '../../src/sync/runHistory.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';
import { testStateConfig } from '../helpers/state.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface SyncFixture {
  tag: string;
  dir: string;
  configPath: string;
  project: LoadedProject;
  engine: SyncEngine;
  store: StateStore;
  /** Admin clients (setup and inspection only; the engine binds as galsync). */
  a: Client;
  b: Client;
  /** ou=<tag> under ou=Sites of each forest (own scope) */
  sitesA: string;
  sitesB: string;
  /** ou=<tag> under ou=GAL Contacts of each forest: the provisioning containers */
  galA: string;
  galB: string;
  run(profile: string, opts?: RunOptions): Promise<RunRecord>;
  /** Entries below a container, with the attributes asked for. */
  list(client: Client, base: string, attrs?: string[]): Promise<DirectoryEntry[]>;
  read(client: Client, dn: string, attrs?: string[]): Promise<DirectoryEntry | undefined>;
  addUser(client: Client, parent: string, cn: string, attrs: Record<string, string | string[]>): Promise<string>;
  cleanup(): Promise<void>;
}

interface FlowDoc {
  extension?: { path: string; rule: string };
}
interface AgentDoc {
  containers: string[];
  provisioning: { container: string; deprovision?: 'delete' | 'disconnect' };
  importFlows: FlowDoc[];
  joinRules: FlowDoc[];
  deleteThreshold?: number;
}
/** The parts of the parsed example sync section the fixture and tests change. */
export interface SyncDoc {
  agents: Record<string, AgentDoc>;
}

export interface FixtureOptions {
  /** lab: the lab's sample organization plus ou=<tag>; own: only ou=<tag> containers. */
  scope: 'lab' | 'own';
  /** Changes to the parsed sync section before it is written. */
  edit?: (sync: SyncDoc) => void;
}

const CONTACT_ATTRS = ['cn', 'mail', 'targetAddress', 'proxyAddresses', 'displayName', 'legacyExchangeDN', 'objectClass', 'entryUUID'];

export async function syncFixture(opts: FixtureOptions): Promise<SyncFixture> {
  const lab = await ensureLab();
  const tag = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const dn = (f: 'a' | 'b', ou: string) => `ou=${tag},ou=${ou},dc=forest-${f},dc=test`;
  const galA = dn('a', 'GAL Contacts');
  const galB = dn('b', 'GAL Contacts');
  const sitesA = dn('a', 'Sites');
  const sitesB = dn('b', 'Sites');

  const a = new Client({ url: lab.forests.a.ldapUrl, timeout: 10_000, connectTimeout: 5_000 });
  const b = new Client({ url: lab.forests.b.ldapUrl, timeout: 10_000, connectTimeout: 5_000 });
  await a.bind(lab.forests.a.adminDn, labSecret(lab, 'forest-a-admin.pw'));
  await b.bind(lab.forests.b.adminDn, labSecret(lab, 'forest-b-admin.pw'));
  const containers = [
    [a, galA],
    [b, galB],
    [a, sitesA],
    [b, sitesB],
  ] as const;
  for (const [c, base] of containers) {
    await c.add(base, { objectClass: ['top', 'organizationalUnit'], ou: tag });
  }

  const doc = parse(exampleProjectFile().replaceAll('.lab/', `${lab.labDir}/`)) as { sync: SyncDoc; state?: unknown };
  const sync = doc.sync;
  for (const [id, agent] of Object.entries(sync.agents)) {
    const f = id as 'a' | 'b';
    const gal = f === 'a' ? galA : galB;
    agent.containers =
      opts.scope === 'lab'
        ? [`ou=Sites,dc=forest-${f},dc=test`, `ou=Groups,dc=forest-${f},dc=test`, `ou=Contacts,dc=forest-${f},dc=test`, gal]
        : [f === 'a' ? sitesA : sitesB, gal];
    agent.provisioning.container = gal;
    for (const list of [agent.importFlows, agent.joinRules]) {
      for (const flow of list) if (flow.extension) flow.extension.path = join(ROOT, flow.extension.path);
    }
  }
  opts.edit?.(sync);
  const dir = mkdtempSync(join(tmpdir(), 'cf-sync-'));
  doc.state = testStateConfig(dir);
  const configPath = join(dir, 'crossforest.yaml');
  writeFileSync(configPath, stringify(doc));
  const project = loadProject(configPath);
  const engine = await createEngine(project);
  const store = await openProjectState(project);

  const list = async (client: Client, base: string, attrs = CONTACT_ATTRS) => {
    const out: DirectoryEntry[] = [];
    for await (const e of searchEntries(client, { bases: [base], filter: '(!(objectClass=organizationalUnit))', attributes: attrs }))
      out.push(e);
    return out;
  };

  return {
    tag,
    dir,
    configPath,
    project,
    engine,
    store,
    a,
    b,
    sitesA,
    sitesB,
    galA,
    galB,
    run: (profile, o) => runProfile(engine, store, profile, o),
    list,
    read: (client, d, attrs = CONTACT_ATTRS) => readEntry(client, d, attrs),
    async addUser(client, parent, cn, attrs) {
      const d = `cn=${escapeDnValue(cn)},${parent}`;
      await client.add(d, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user', 'crossforestMailRecipient'],
        cn,
        sn: cn.split(' ').at(-1) ?? cn,
        ...attrs,
      });
      return d;
    },
    async cleanup() {
      await store.close();
      for (const [c, base] of containers) {
        const all: string[] = [];
        for await (const e of searchEntries(c, { bases: [base], filter: '(objectClass=*)', attributes: ['1.1'] })) all.push(e.dn);
        // Deepest first: children before their container.
        for (const d of all.sort((x, y) => y.split(',').length - x.split(',').length)) await c.del(d).catch(() => {});
      }
      await a.unbind().catch(() => {});
      await b.unbind().catch(() => {});
    },
  };
}

/** Values of an attribute, case-insensitively named. */
export function values(e: DirectoryEntry | undefined, attr: string): string[] {
  if (!e) return [];
  const k = Object.keys(e.attributes).find((x) => x.toLowerCase() === attr.toLowerCase());
  return k ? (e.attributes[k] as string[]) : [];
}
