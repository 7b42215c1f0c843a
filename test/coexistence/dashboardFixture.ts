// A project and state store for the dashboard tests: the `crossforest init` example with
// plain HTTP (inject and loopback only), an operator account whose password is a file, and
// migration batches filled through the migration capability's own repository functions.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleProjectFile } from '../../src/config/example.ts';
import { type LoadedProject, loadProject } from '../../src/config/load.ts';
import { insertBatch, type NewMailbox } from '../../src/migration/batchStore.ts';
import type { BatchOptions } from '../../src/migration/types.ts';
import { openProjectState, type StateStore } from '../../src/state/store.ts';
import { replaceSection } from '../helpers/project.ts';
import { testStateYaml } from '../helpers/state.ts';

export const OPERATOR = 'ops';
export const OPERATOR_PASSWORD = 'Dashboard-pw-7e1f!';

export interface DashboardFixture {
  dir: string;
  project: LoadedProject;
  store: StateStore;
}

export async function dashboardProject(
  opts: { tls?: { cert: string; key: string }; perUser?: number; dashboard?: boolean } = {},
): Promise<DashboardFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'cf-dashboard-'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'ops.pw'), `${OPERATOR_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'secrets', 'other.pw'), 'Other-operator-pw\n', { mode: 0o600 });
  // No CalDAV (its secrets live in the lab): the dashboard tests need no lab at all.
  // The example's own operator (a lab secret) gives way to this fixture's operators.
  let text = replaceSection(exampleProjectFile(), 'state', testStateYaml(dir))
    .replace(/^ {2}dashboard:.*\n(?: {4,}.*\n)*/m, '')
    .replace(/^ +caldav: .*\n/gm, '')
    .replaceAll('examples/rules', join(import.meta.dirname, '..', '..', 'examples', 'rules'));
  const tlsLine = /^ {2}tls: \{ certFile: .*$/m;
  text = text.replace(tlsLine, opts.tls ? `  tls: { certFile: ${opts.tls.cert}, keyFile: ${opts.tls.key} }` : '  insecureHttp: true');
  text = text.replace(
    /loginFailures: \{ perIp: 20, perUser: 5, windowSeconds: 300 \}\n/,
    `loginFailures: { perIp: 1000, perUser: ${opts.perUser ?? 3}, windowSeconds: 300 }\n${
      opts.dashboard === false
        ? ''
        : '  dashboard:\n    operators:\n      - { name: ops, password: { file: secrets/ops.pw } }\n      - { name: other, password: { file: secrets/other.pw } }\n'
    }`,
  );
  const path = join(dir, 'crossforest.yaml');
  writeFileSync(path, text);
  const project = loadProject(path);
  const store = await openProjectState(project);
  return { dir, project, store };
}

export const OPTIONS: BatchOptions = {
  retryIntervalSeconds: 5,
  mailboxReadyTimeoutSeconds: 60,
  badItemLimit: 10,
  largeItemLimit: 0,
  allowMerge: true,
  concurrency: 4,
  cutover: 'immediate',
};

export function mailbox(login: string): NewMailbox {
  return {
    name: login,
    sourceDn: `uid=${login},ou=People,dc=forest-a,dc=test`,
    sourceLogin: `${login}@forest-a.test`,
    sourceMail: `${login}@forest-a.test`,
    plan: {
      targetDn: `uid=${login},ou=Sites,dc=forest-b,dc=test`,
      contactDn: null,
      existingUser: false,
      targetLogin: `${login}@forest-b.test`,
      targetSam: login,
      targetPrimary: `${login}@forest-b.test`,
      targetLegacyExchangeDn: `/o=ForestB/cn=Recipients/cn=${login}`,
      sourceLegacyExchangeDn: null,
      sourceProxies: [`SMTP:${login}@forest-a.test`],
      display: { displayName: [login] },
    },
  };
}

export function newBatch(store: StateStore, name: string, logins: string[], options: Partial<BatchOptions> = {}): Promise<number> {
  return insertBatch(
    store,
    { name, sourceOrg: 'a', targetOrg: 'b', targetStore: 'store-b', options: { ...OPTIONS, ...options }, origin: 'test' },
    logins.map(mailbox),
  );
}
