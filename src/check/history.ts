// Keeps every `check` result in the state store, for the dashboard and the reports.
import type { StateStore } from '../state/store.ts';
import type { EndpointCheck } from './endpoints.ts';

export function recordChecks(store: StateStore, rows: EndpointCheck[], at = new Date()): void {
  const insert = store.db.prepare('INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES (?, ?, ?, ?, ?)');
  store.tx(() => {
    for (const r of rows) insert.run(at.toISOString(), r.organization, r.endpoint, r.ok ? 1 : 0, JSON.stringify(r));
  });
}

export function latestChecks(store: StateStore): EndpointCheck[] {
  const rows = store.db
    .prepare(`SELECT detail FROM endpoint_check WHERE checked_at = (SELECT MAX(checked_at) FROM endpoint_check) ORDER BY id`)
    .all() as { detail: string }[];
  return rows.map((r) => JSON.parse(r.detail) as EndpointCheck);
}
