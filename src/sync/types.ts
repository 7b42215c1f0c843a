// GAL sync: the metaverse sync engine, in MIIS's words (the seed's "Microsoft Identity
// Integration Server Setup and Configuration Guide").
//
// Glossary
// - Management agent (MA): a configured connection to one directory: which containers,
//   object classes and attributes it reads, which container it writes to, which
//   (least-privilege) account it uses. Config: `sync.agents.<id>`.
// - Connector space (CS): per agent, every imported object as last seen: anchor
//   (entryUUID, objectGUID or a configured attribute), DN, object class, attributes, and
//   its pending export. A connector is a CS object joined to a metaverse object; a
//   disconnector is one that is not (filtered, ambiguous, or not yet synchronized).
// - Metaverse (MV): one object per real person, group or contact, of the declared object
//   type (the seed's Metaverse_Contact) with a declared schema.
// - Connector filter: objects that must not enter the metaverse (no Internet address,
//   hidden); they stay disconnectors.
// - Join rule: matches a CS object to an existing MV object (mail = mail; an smtp: value
//   of proxyAddresses = mail). Exactly one candidate joins; two or more is an error on
//   that object, never a guess.
// - Projection: creates an MV object where no join matched.
// - Import flow: CS → MV (direct, declared transform, or rules extension), with
//   precedence when several agents feed one attribute. Export flow: MV → CS.
// - Source object: a CS object of a source class (mailbox user, group): a real recipient
//   whose forest "owns" the MV object. Provisioning creates, in every other agent's
//   provisioning container, a mail-enabled contact for each MV object that has a source
//   object and no connector in that agent. Deprovisioning deletes (or disconnects) it
//   when the source goes.
// - Pending export: the add / modify / rename / delete the next export will send for a
//   CS object. Preview lists them; export sends them and waits for the confirming import.
// - Run profile: a named sequence of steps (full/delta import, full/delta sync, export).

import type { AttributeValues } from '../directory/entry.ts';

export type { AttributeValues };

export type PendingOp = 'add' | 'modify' | 'delete';

export interface CsObject {
  id: number;
  agent: string;
  anchor: string;
  dn: string;
  objectClass: string;
  attributes: AttributeValues;
  mvId: number | null;
  /** 'normal', 'filtered' (disconnector by the connector filter), 'error' (join error), 'deleted' (gone from the directory). */
  state: CsState;
  /** Created by provisioning: we own it and may write it (within the provisioning container). */
  provisioned: boolean;
  pendingOp: PendingOp | null;
  /** For add: all attributes; for modify: the attributes to replace (empty list = remove). */
  pendingAttributes: AttributeValues | null;
  /** For a rename (with or without modify). */
  pendingDn: string | null;
  /** What the last export wrote, until a confirming import has seen it. */
  exported: AttributeValues | null;
}

export type CsState = 'normal' | 'filtered' | 'error' | 'deleted';

export interface MvObject {
  id: number;
  objectType: string;
  attributes: AttributeValues;
}

/** Counts of one run, as MIIS reports them. */
export interface RunCounts {
  imported: number;
  importAdds: number;
  importUpdates: number;
  importDeletes: number;
  filtered: number;
  joins: number;
  projections: number;
  disconnects: number;
  provisioned: number;
  deprovisioned: number;
  exportAdds: number;
  exportUpdates: number;
  exportRenames: number;
  exportDeletes: number;
  errors: number;
}

export function emptyCounts(): RunCounts {
  return {
    imported: 0,
    importAdds: 0,
    importUpdates: 0,
    importDeletes: 0,
    filtered: 0,
    joins: 0,
    projections: 0,
    disconnects: 0,
    provisioned: 0,
    deprovisioned: 0,
    exportAdds: 0,
    exportUpdates: 0,
    exportRenames: 0,
    exportDeletes: 0,
    errors: 0,
  };
}

export function addCounts(a: RunCounts, b: RunCounts): RunCounts {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof RunCounts)[]) out[k] += b[k];
  return out;
}

/** A per-object problem of a run: kept in run history (`crossforest sync errors <run>`). */
export interface ObjectError {
  agent: string;
  dn: string;
  /** Stable code: ambiguous-join, proxy-conflict, dn-conflict, export-failed, exported-change-not-reimported, flow-failed … */
  code: string;
  reason: string;
}
