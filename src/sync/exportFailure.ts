// The reason recorded for an export the directory refused. Active Directory puts its
// own error code and words in the diagnostic text (`00002071: samldb: … already in
// use!`); for an AD agent the record quotes them, decoded by directory/ad/adError.ts.
import { toAdExportError } from '../directory/ad/adError.ts';
import { DirectoryError } from '../directory/errors.ts';
import type { SyncEngine } from './engine.ts';
import { agentOrganization } from './importRun.ts';
import type { CsObject } from './types.ts';

const ACTION: Record<string, string> = { add: 'add', modify: 'modify', delete: 'delete' };

export function exportFailureReason(
  engine: SyncEngine,
  c: Pick<CsObject, 'agent' | 'dn' | 'pendingOp' | 'pendingDn'>,
  err: unknown,
): string {
  const message = (err as Error).message ?? String(err);
  if (!(err instanceof DirectoryError) || err.ldapCode === undefined) return message;
  if (agentOrganization(engine, c.agent).org.directory.kind !== 'activedirectory') return message;
  const action = c.pendingDn && c.pendingOp === 'modify' ? 'rename or modify' : (ACTION[c.pendingOp ?? ''] ?? 'write');
  return toAdExportError(err, action, c.dn).message;
}
