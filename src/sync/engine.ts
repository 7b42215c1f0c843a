// The sync engine's context: the validated `sync:` section, its cross-references
// checked with key paths, the loaded rules extensions and the metaverse schema.
import type { LoadedProject } from '../config/load.ts';
import type { AgentConfig, MetaverseAttribute, SyncConfig } from '../config/sync.ts';
import { ConfigError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { type ExtensionRegistry, loadRulesExtensions } from './rulesExtension.ts';

export interface SyncEngine {
  project: LoadedProject;
  cfg: SyncConfig;
  baseDir: string;
  registry: ExtensionRegistry;
  /** Metaverse attributes by lowercased name. */
  mvAttributes: Map<string, MetaverseAttribute>;
  /** Lowercased metaverse attributes whose values are indexed (declared indexed, or used by a join rule). */
  indexed: Set<string>;
  agentIds: string[];
  logger: Logger;
}

export function agentOf(engine: SyncEngine, id: string): AgentConfig {
  const a = engine.cfg.agents[id];
  if (!a)
    throw new ConfigError(`sync.agents.${id} does not exist`, {
      object: `sync.agents.${id}`,
      hint: `agents are: ${engine.agentIds.join(', ')}`,
    });
  return a;
}

/** Checks what zod cannot: references between keys. All problems at once. */
export function checkSyncConfig(project: LoadedProject): SyncConfig {
  const cfg = project.config.sync;
  if (!cfg) {
    throw new ConfigError('the project file has no sync: section', {
      object: project.path,
      hint: 'add one (`crossforest init --print` shows the lab example with the seed’s metaverse, filters, joins and flows)',
    });
  }
  const problems: string[] = [];
  const mv = new Set(cfg.metaverse.attributes.map((a) => a.name.toLowerCase()));
  const orgs = Object.keys(project.config.organizations);
  const seen = new Set<string>();
  for (const a of cfg.metaverse.attributes) {
    if (seen.has(a.name.toLowerCase())) problems.push(`sync.metaverse.attributes: ${a.name} is declared twice`);
    seen.add(a.name.toLowerCase());
  }
  for (const [id, a] of Object.entries(cfg.agents)) {
    const key = `sync.agents.${id}`;
    if (!orgs.includes(a.organization))
      problems.push(`${key}.organization: no organization "${a.organization}" (have: ${orgs.join(', ')})`);
    // AD: a DN changes with every rename or move; only objectGUID identifies an object for life.
    if (project.config.organizations[a.organization]?.directory.kind === 'activedirectory' && a.anchor.toLowerCase() !== 'objectguid')
      problems.push(`${key}.anchor: ${a.anchor} on an Active Directory organization; anchor on objectGUID`);
    const imported = new Set([...a.attributes, a.anchor, 'objectClass'].map((x) => x.toLowerCase()));
    a.importFlows.forEach((f, i) => {
      if (!mv.has(f.to.toLowerCase())) problems.push(`${key}.importFlows.${i}.to: ${f.to} is not a metaverse attribute`);
      for (const src of [f.from ?? []].flat())
        if (!imported.has(src.toLowerCase())) problems.push(`${key}.importFlows.${i}.from: ${src} is not in ${key}.attributes`);
    });
    a.exportFlows.forEach((f, i) => {
      for (const src of [f.from ?? []].flat())
        if (!mv.has(src.toLowerCase())) problems.push(`${key}.exportFlows.${i}.from: ${src} is not a metaverse attribute`);
    });
    a.joinRules.forEach((j, i) => {
      if (!mv.has(j.mv.toLowerCase())) problems.push(`${key}.joinRules.${i}.mv: ${j.mv} is not a metaverse attribute`);
      if (!imported.has(j.cs.toLowerCase())) problems.push(`${key}.joinRules.${i}.cs: ${j.cs} is not in ${key}.attributes`);
    });
    a.connectorFilter.forEach((r, i) => {
      if ((r.when === 'equals' || r.when === 'matches') && r.value === undefined)
        problems.push(`${key}.connectorFilter.${i}.value: needed with when: ${r.when}`);
      if (r.when === 'matches' && r.value !== undefined) {
        try {
          new RegExp(r.value, 'iu');
        } catch {
          problems.push(`${key}.connectorFilter.${i}.value: not a valid regular expression`);
        }
      }
    });
    if (a.provisioning && !a.exportFlows.some((f) => f.to.toLowerCase() === a.provisioning?.rdnAttribute.toLowerCase())) {
      problems.push(`${key}.exportFlows: no flow to ${a.provisioning.rdnAttribute}, the RDN of provisioned objects`);
    }
  }
  for (const [attr, agents] of Object.entries(cfg.precedence)) {
    if (!mv.has(attr.toLowerCase())) problems.push(`sync.precedence.${attr}: not a metaverse attribute`);
    for (const a of agents) if (!cfg.agents[a]) problems.push(`sync.precedence.${attr}: no agent "${a}"`);
  }
  for (const [name, steps] of Object.entries(cfg.runProfiles)) {
    steps.forEach((s, i) => {
      if (s.agent && !cfg.agents[s.agent]) problems.push(`sync.runProfiles.${name}.${i}.agent: no agent "${s.agent}"`);
    });
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `the sync: section of ${project.path} is not consistent (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
      {
        object: project.path,
        hint: 'fix the keys above',
      },
    );
  }
  return cfg;
}

export async function createEngine(project: LoadedProject, logger: Logger = silentLogger): Promise<SyncEngine> {
  const cfg = checkSyncConfig(project);
  const registry = await loadRulesExtensions(cfg, project.baseDir);
  const mvAttributes = new Map(cfg.metaverse.attributes.map((a) => [a.name.toLowerCase(), a]));
  const indexed = new Set(cfg.metaverse.attributes.filter((a) => a.indexed).map((a) => a.name.toLowerCase()));
  for (const a of Object.values(cfg.agents)) for (const j of a.joinRules) indexed.add(j.mv.toLowerCase());
  return {
    project,
    cfg,
    baseDir: project.baseDir,
    registry,
    mvAttributes,
    indexed,
    agentIds: Object.keys(cfg.agents),
    logger: logger.child({ scope: 'sync' }),
  };
}
