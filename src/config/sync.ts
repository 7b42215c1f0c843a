// The `sync:` section: the GAL sync engine configured as MIIS is (see src/sync/types.ts
// for the glossary). Cross-references (an agent's organization, a flow's metaverse
// attribute) are checked by checkSyncConfig() in src/sync/config.ts, with key paths.
import { z } from 'zod';

const attrName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an LDAP attribute name such as mail or proxyAddresses');
const id = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'a short lowercase id such as a, b, forest-a');
const dnString = z.string().min(3).regex(/=/, 'a DN such as ou=GAL Contacts,dc=example,dc=com');
const regex = z.string().refine((s) => {
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}, 'a valid regular expression (JavaScript syntax)');

/** A declared transform, applied in order to the list of values of a flow. */
export const transformSchema = z.union([
  z.strictObject({ lowercase: z.literal(true) }),
  z.strictObject({ uppercase: z.literal(true) }),
  z.strictObject({
    replace: z.strictObject({
      pattern: regex,
      with: z.string().default(''),
      flags: z
        .string()
        .regex(/^[gimsu]*$/)
        .default('g'),
    }),
  }),
  /** Splits every value at the separator (one value → many). */
  z.strictObject({ split: z.string().min(1) }),
  /** Joins all values into one with the separator (many → one). */
  z.strictObject({ join: z.string() }),
  /** Replaces the values by a constant (one or several). */
  z.strictObject({ constant: z.union([z.string(), z.array(z.string())]) }),
  /** Prepends a fixed text to every value, e.g. `X500:` in front of a legacyExchangeDN. */
  z.strictObject({ prefix: z.string().min(1) }),
  /** Keeps only values matching the pattern (case-insensitive), e.g. `^(smtp|x500):`. */
  z.strictObject({ keep: regex }),
  /** Keeps the first value only. */
  z.strictObject({ first: z.literal(true) }),
]);

export const extensionRefSchema = z.strictObject({
  /** Path of the rules-extension module (.ts or .js), relative to the project file. */
  path: z.string().min(1),
  /** Name of the rule inside the module (MIIS: the flow rule name). */
  rule: z.string().min(1),
});

export const flowSchema = z.strictObject({
  /** Target attribute: a metaverse attribute (import flow) or a directory attribute (export flow). */
  to: attrName,
  /** Source attribute(s); their values are concatenated in order. Omit with `constant` or an extension. */
  from: z.union([attrName, z.array(attrName).min(1)]).optional(),
  transforms: z.array(transformSchema).default([]),
  /** A rules extension computes the values instead of `from` + `transforms`. */
  extension: extensionRefSchema.optional(),
  /** Apply only to connector-space objects of these object classes (default: all). */
  objectClasses: z.array(z.string().min(1)).optional(),
});

export const connectorFilterRuleSchema = z.strictObject({
  /** Why objects are filtered, for reports ("no Internet address", "hidden"). */
  reason: z.string().min(1),
  attribute: attrName,
  when: z.enum(['absent', 'present', 'equals', 'matches']),
  /** The value for `equals` (case-insensitive) or the pattern for `matches`. */
  value: z.string().optional(),
  objectClasses: z.array(z.string().min(1)).optional(),
});

export const joinRuleSchema = z.strictObject({
  /** Connector-space attribute whose values are looked up. */
  cs: attrName,
  /** Metaverse attribute they are compared with. */
  mv: attrName,
  /** ignoreCase (default), exact, or smtpProxy: `smtp:`/`SMTP:` prefixes stripped on either side, case-insensitive. */
  match: z.enum(['ignoreCase', 'exact', 'smtpProxy']).default('ignoreCase'),
  transforms: z.array(transformSchema).default([]),
  extension: extensionRefSchema.optional(),
  objectClasses: z.array(z.string().min(1)).optional(),
});

export const provisioningSchema = z.strictObject({
  /** Container where contacts for the other forests' people and groups are created (and only there written). */
  container: dnString,
  objectClasses: z.array(z.string().min(1)).min(1).default(['top', 'contact']),
  /** RDN attribute of provisioned objects; its value comes from the export flow of the same name. */
  rdnAttribute: attrName.default('cn'),
  /** What happens to a provisioned object whose source goes: delete it, or leave it and forget it (disconnect). */
  deprovision: z.enum(['delete', 'disconnect']).default('delete'),
});

export const agentSchema = z.strictObject({
  /** The organization (organizations.<id>) whose directory this agent connects to, with its account. */
  organization: id,
  /** Containers read (subtree). Include the provisioning container so exports are confirmed by import. */
  containers: z.array(dnString).min(1),
  /** Object classes imported (structural class names, e.g. user, group, contact). */
  objectClasses: z.array(z.string().min(1)).min(1),
  /** Attributes imported; flows and rules may use only these. */
  attributes: z.array(attrName).min(1),
  /** The anchor: an immutable id per object. entryUUID (OpenLDAP), objectGUID (AD) or another attribute. */
  anchor: attrName.default('entryUUID'),
  /** Attributes that hold bytes (converted: objectGUID to its GUID string, others to base64). */
  binaryAttributes: z.array(attrName).default(['objectGUID']),
  /** Object classes of real recipients (mailboxes, groups): the sources that are provisioned elsewhere. */
  sourceObjectClasses: z.array(z.string().min(1)).default(['user', 'group']),
  connectorFilter: z.array(connectorFilterRuleSchema).default([]),
  joinRules: z.array(joinRuleSchema).default([]),
  /** Object classes projected into the metaverse when no join rule matches (default: all imported). */
  projection: z.array(z.string().min(1)).optional(),
  importFlows: z.array(flowSchema).default([]),
  exportFlows: z.array(flowSchema).default([]),
  provisioning: provisioningSchema.optional(),
  /** An export deleting more objects than this stops before writing (`--allow-deletes N` overrides). Default 500. */
  deleteThreshold: z.number().int().nonnegative().default(500),
  /** Paged-results page size. Default 500. */
  pageSize: z.number().int().positive().max(10_000).default(500),
  /**
   * Delta import: where deletes come from. OpenLDAP: accesslog (overlay) or a full-import diff.
   * Active Directory: always tombstones (DirSync / Show Deleted); full-diff adds the diff for
   * accounts that may not read CN=Deleted Objects.
   */
  deltaDeletes: z.enum(['accesslog', 'full-diff']).default('accesslog'),
  accesslogBase: dnString.default('cn=accesslog'),
});

export const metaverseAttributeSchema = z.strictObject({
  name: attrName,
  type: z.enum(['string', 'number', 'boolean', 'reference', 'binary']).default('string'),
  multiValued: z.boolean().default(false),
  indexed: z.boolean().default(false),
});

export const runStepSchema = z.strictObject({
  run: z.enum(['full-import', 'delta-import', 'full-sync', 'delta-sync', 'export']),
  /** The agent for imports and exports; syncs cover every agent. Omit to run the step for every agent. */
  agent: id.optional(),
});

export const syncSchema = z.strictObject({
  metaverse: z.strictObject({
    /** Name of the metaverse object type (the seed: Metaverse_Contact). */
    objectType: z.string().min(1).default('Metaverse_Contact'),
    attributes: z.array(metaverseAttributeSchema).min(1),
  }),
  /** Management agents by id, in precedence order (the first agent's values win unless `precedence` says otherwise). */
  agents: z.record(id, agentSchema),
  /** Per metaverse attribute: agents in precedence order, overriding the default. */
  precedence: z.record(attrName, z.array(id).min(1)).default({}),
  /** Named run profiles: a sequence of steps (`crossforest sync run <name>`). */
  runProfiles: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,40}$/), z.array(runStepSchema).min(1)).default({}),
});

export type SyncConfig = z.infer<typeof syncSchema>;
export type AgentConfig = z.infer<typeof agentSchema>;
export type FlowConfig = z.infer<typeof flowSchema>;
export type TransformConfig = z.infer<typeof transformSchema>;
export type JoinRuleConfig = z.infer<typeof joinRuleSchema>;
export type ConnectorFilterRule = z.infer<typeof connectorFilterRuleSchema>;
export type MetaverseAttribute = z.infer<typeof metaverseAttributeSchema>;
export type RunStep = z.infer<typeof runStepSchema>;
export type ExtensionRef = z.infer<typeof extensionRefSchema>;
