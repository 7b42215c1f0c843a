import type { LabContext } from '../../context.ts';
import type { StoreDef, StorePaths } from '../stores.ts';
export async function ensureCorpus(_ctx: LabContext, _store: StoreDef, _paths: StorePaths): Promise<Record<string, unknown>> {
  return {};
}
