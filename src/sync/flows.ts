// Attribute flows: what one connector-space object contributes to its metaverse object
// (import flows, typed by the metaverse schema), how the metaverse object is computed
// from all its connectors (precedence), and what an agent should hold (export flows).
import type { FlowConfig } from '../config/sync.ts';
import { agentOf, type SyncEngine } from './engine.ts';
import { entryView, runRule } from './rulesExtension.ts';
import { applyTransforms } from './transforms.ts';
import type { AttributeValues, CsObject, MvObject } from './types.ts';
import { getValues, uniqueValues } from './values.ts';

function appliesTo(flow: { objectClasses?: string[] | undefined }, objectClass: string | undefined): boolean {
  return (
    !flow.objectClasses || (objectClass !== undefined && flow.objectClasses.some((c) => c.toLowerCase() === objectClass.toLowerCase()))
  );
}

export function evalFlow(
  engine: SyncEngine,
  flow: Pick<FlowConfig, 'from' | 'transforms' | 'extension'>,
  attrs: AttributeValues,
  direction: 'import' | 'export',
  dn?: string,
  objectClass?: string,
): string[] {
  if (flow.extension) return runRule(engine.registry, flow.extension, engine.baseDir, direction, entryView(attrs, dn, objectClass));
  const src = [flow.from ?? []].flat().flatMap((a) => getValues(attrs, a));
  return applyTransforms(src, flow.transforms);
}

/** Coerces values to a metaverse attribute's declared type and arity; invalid values are dropped. */
export function coerce(engine: SyncEngine, attr: string, values: string[]): string[] {
  const def = engine.mvAttributes.get(attr.toLowerCase());
  if (!def) return [];
  let out = values;
  if (def.type === 'number') out = out.filter((v) => /^-?\d+(\.\d+)?$/.test(v.trim())).map((v) => v.trim());
  else if (def.type === 'boolean') out = out.map((v) => v.trim().toUpperCase()).filter((v) => v === 'TRUE' || v === 'FALSE');
  out = uniqueValues(attr, out);
  return def.multiValued ? out : out.slice(0, 1);
}

/** Import flows of the agent applied to one CS object: metaverse attribute → values. */
export function importContributions(
  engine: SyncEngine,
  cs: Pick<CsObject, 'agent' | 'dn' | 'objectClass' | 'attributes'>,
): AttributeValues {
  const agent = agentOf(engine, cs.agent);
  const out: AttributeValues = {};
  for (const f of agent.importFlows) {
    if (!appliesTo(f, cs.objectClass)) continue;
    const name = engine.mvAttributes.get(f.to.toLowerCase())?.name ?? f.to;
    const v = evalFlow(engine, f, cs.attributes, 'import', cs.dn, cs.objectClass);
    out[name] = (out[name] ?? []).concat(v);
  }
  for (const k of Object.keys(out)) {
    out[k] = coerce(engine, k, out[k] as string[]);
    if ((out[k] as string[]).length === 0) delete out[k];
  }
  return out;
}

/**
 * The metaverse object from its connectors. For each attribute the first connector (in
 * precedence order) that has a value wins: `sync.precedence.<attr>` if declared, else
 * source objects (mailboxes, groups) before contacts, then agents in declared order.
 */
export function computeMv(engine: SyncEngine, connectors: { cs: CsObject; isSource: boolean; values: AttributeValues }[]): AttributeValues {
  const order = engine.agentIds;
  const rank = (c: { cs: CsObject; isSource: boolean }, attr: string) => {
    const explicit = engine.cfg.precedence[attr];
    const p = explicit ? explicit.indexOf(c.cs.agent) : -1;
    return [explicit ? (p < 0 ? 999 : p) : 0, c.isSource ? 0 : 1, order.indexOf(c.cs.agent), c.cs.id];
  };
  const out: AttributeValues = {};
  const attrs = new Set(connectors.flatMap((c) => Object.keys(c.values)));
  for (const attr of attrs) {
    const sorted = connectors
      .filter((c) => (c.values[attr]?.length ?? 0) > 0)
      .sort((x, y) => {
        const a = rank(x, attr);
        const b = rank(y, attr);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
        return 0;
      });
    const win = sorted[0];
    if (win) out[attr] = win.values[attr] as string[];
  }
  return out;
}

/** Export flows of the agent applied to a metaverse object: directory attribute → values. */
export function exportDesired(engine: SyncEngine, agentId: string, mv: MvObject): AttributeValues {
  const agent = agentOf(engine, agentId);
  const out: AttributeValues = {};
  for (const f of agent.exportFlows) {
    const v = evalFlow(engine, f, mv.attributes, 'export', undefined, mv.objectType);
    out[f.to] = uniqueValues(f.to, (out[f.to] ?? []).concat(v));
  }
  return out;
}

/** Attributes export flows write (the only ones an export may change). */
export function exportedAttributes(engine: SyncEngine, agentId: string): string[] {
  return [...new Set(agentOf(engine, agentId).exportFlows.map((f) => f.to))];
}
