// Bulk load of the AD objects over LDAPS (AD takes a password only over an encrypted
// connection), several adds in flight per phase. Measured on the lab machine: see
// `loadSeconds` in <labDir>/samba-<x>/loaded.json.
import { readFileSync } from 'node:fs';
import { Attribute, Client } from 'ldapts';
import pLimit from 'p-limit';
import { LabError } from '../../src/util/errors.ts';
import type { AdEntry, AdPhase } from './organization.ts';

export const LOAD_CONCURRENCY = 8;

export interface SambaBind {
  url: string;
  /** Path of the CA certificate (PEM) that signed the DC's certificate. */
  ca: string;
  dn: string;
  password: string;
}

/** A bound client as the DC's Administrator (lab code only: the product connects through src/directory). */
export async function sambaAdminClient(bind: SambaBind): Promise<Client> {
  const client = new Client({
    url: bind.url,
    timeout: 60_000,
    connectTimeout: 10_000,
    strictDN: false,
    tlsOptions: bind.url.startsWith('ldaps:') ? { ca: readFileSync(bind.ca) } : undefined,
  });
  try {
    await client.bind(bind.dn, bind.password);
  } catch (err) {
    await client.unbind().catch(() => {});
    throw new LabError(`cannot bind to the Samba DC ${bind.url} as ${bind.dn}: ${(err as Error).message}`, {
      object: bind.url,
      cause: err,
    });
  }
  return client;
}

function attributes(e: AdEntry): Attribute[] {
  return Object.entries(e.attrs).map(([type, values]) => new Attribute({ type, values }));
}

/** Adds every entry; phases in order, up to LOAD_CONCURRENCY adds at once within a phase. Returns the number added. */
export async function loadEntries(clients: Client[], entries: Iterable<AdEntry>): Promise<number> {
  const limit = pLimit(clients.length);
  const free = [...clients];
  let pending: Promise<void>[] = [];
  let phase: AdPhase | null = null;
  let added = 0;
  let failure: unknown = null;
  const add = async (e: AdEntry) => {
    const client = free.pop();
    if (!client) throw new Error('no free LDAP connection'); // cannot happen: limit = clients
    try {
      await client.add(e.dn, attributes(e));
      added++;
    } catch (err) {
      failure ??= new LabError(`Samba lab load: cannot add ${e.dn}: ${(err as Error).message}`, { object: e.dn, cause: err });
    } finally {
      free.push(client);
    }
  };
  for (const e of entries) {
    if (failure) break;
    // Containers and groups go one at a time (parents first; nested groups).
    const sequential = e.phase === 'container' || e.phase === 'group';
    if (e.phase !== phase || sequential) {
      await Promise.all(pending);
      pending = [];
      phase = e.phase;
    }
    pending.push(limit(() => add(e)));
    // Keep the generator lazy: never more than a few batches queued.
    if (pending.length >= clients.length * 4) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  if (failure) throw failure;
  return added;
}
