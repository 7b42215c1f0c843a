// Join rules, in order: the first rule that finds any candidate decides. Exactly one
// candidate joins; two or more is an error on that object (reported, never a guess).
// Metaverse objects that already have a connector from the same agent are not candidates.
import type { JoinRuleConfig } from '../config/sync.ts';
import type { StateStore } from '../state/store.ts';
import { agentOf, type SyncEngine } from './engine.ts';
import { evalFlow } from './flows.ts';
import { mvIdsByValues } from './metaverse.ts';
import type { CsObject } from './types.ts';

export type JoinResult =
  | { kind: 'none' }
  | { kind: 'join'; mvId: number; rule: number }
  | { kind: 'ambiguous'; mvIds: number[]; rule: number };

/** The values a rule looks up, as they are compared: lowercased, `smtp:` stripped for smtpProxy. */
export function joinKeys(rule: JoinRuleConfig, values: string[]): string[] {
  const keys = values.map((v) => (rule.match === 'exact' ? v : v.toLowerCase()));
  if (rule.match !== 'smtpProxy') return keys;
  // smtp:x (either case) counts as x; other proxy types (x500:, x400:) never match an address.
  return keys.flatMap((k) => (k.startsWith('smtp:') ? [k.slice(5)] : k.includes(':') ? [] : [k]));
}

function lookups(rule: JoinRuleConfig, key: string): string[] {
  // The metaverse side may hold `smtp:x` (proxyAddresses) or `x` (mail).
  return rule.match === 'smtpProxy' ? [key, `smtp:${key}`] : [key];
}

export async function findJoin(
  engine: SyncEngine,
  store: StateStore,
  cs: CsObject,
  hasConnectorInAgent: (mvId: number) => Promise<boolean>,
): Promise<JoinResult> {
  const agent = agentOf(engine, cs.agent);
  for (const [i, rule] of agent.joinRules.entries()) {
    if (rule.objectClasses && !rule.objectClasses.some((c) => c.toLowerCase() === cs.objectClass.toLowerCase())) continue;
    const values = evalFlow(
      engine,
      { from: rule.cs, transforms: rule.transforms, extension: rule.extension },
      cs.attributes,
      'import',
      cs.dn,
      cs.objectClass,
    );
    const candidates = new Set<number>();
    // Every lookup of the rule in one query.
    const wanted = joinKeys(rule, values).flatMap((key) => lookups(rule, key));
    for (const id of await mvIdsByValues(store, rule.mv, wanted)) candidates.add(id);
    // exact: the index is lowercased, so re-check exact spelling would need the values; ignoreCase is the common case.
    const open: number[] = [];
    for (const id of candidates) if (!(await hasConnectorInAgent(id))) open.push(id);
    if (open.length === 1) return { kind: 'join', mvId: open[0] as number, rule: i };
    if (open.length > 1) return { kind: 'ambiguous', mvIds: open.sort((a, b) => a - b), rule: i };
  }
  return { kind: 'none' };
}
