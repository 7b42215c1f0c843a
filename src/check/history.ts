// Keeps every `check` result in the state store, for the dashboard and the reports.
import type { StateStore } from '../state/store.ts';
import type { EndpointCheck } from './endpoints.ts';

export async function recordChecks(store: StateStore, rows: EndpointCheck[], at = new Date()): Promise<void> {
  await store.sql.tx(async () => {
    for (const r of rows)
      await store.sql.run('INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES (?, ?, ?, ?, ?)', [
        at.toISOString(),
        r.organization,
        r.endpoint,
        r.ok ? 1 : 0,
        JSON.stringify(r),
      ]);
  });
}

export async function latestChecks(store: StateStore): Promise<EndpointCheck[]> {
  const rows = await store.sql.all<{ detail: string }>(
    'SELECT detail FROM endpoint_check WHERE checked_at = (SELECT MAX(checked_at) FROM endpoint_check) ORDER BY id',
  );
  return rows.map((r) => JSON.parse(r.detail) as EndpointCheck);
}
