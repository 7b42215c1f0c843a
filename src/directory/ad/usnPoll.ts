// Delta import by uSNChanged polling: the fallback where DirSync is not permitted.
// Every write on a DC stamps the object with that DC's next USN; reading
// (uSNChanged >= last+1) with Show Deleted returns changed objects whole and deletes as
// tombstones. USNs belong to one DC: the watermark records the DC's invocationId, and
// a different one (another DC, or a restore) means the watermark is void → full import.
import type { Client } from 'ldapts';
import { DirectoryError, toDirectoryError } from '../errors.ts';
import { AD_BINARY_ATTRIBUTES, attributeNames, toAdChange, withAnchorAttributes } from './adEntry.ts';
import { ShowDeletedControl } from './controls.ts';
import { guidToString } from './guid.ts';
import type { AdChange } from './types.ts';

export interface UsnState {
  highestUsn: string;
  /** invocationId of the DC's NTDS Settings (GUID string). */
  invocationId: string;
}

/** rootDSE highestCommittedUSN and the DC's invocationId: read BEFORE the delta search. */
export async function readUsnState(client: Client): Promise<UsnState> {
  try {
    const root = (
      await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['highestCommittedUSN', 'dsServiceName'] })
    ).searchEntries[0];
    const highestUsn = String(root?.highestCommittedUSN ?? '');
    const ntds = String(root?.dsServiceName ?? '');
    if (!/^\d+$/.test(highestUsn) || ntds === '') {
      throw new DirectoryError('CF_ERR_AD_USN', 'the rootDSE has no highestCommittedUSN/dsServiceName: not an Active Directory DC', {
        object: 'rootDSE',
        hint: 'use the OpenLDAP delta (directory.kind: openldap) for this server',
      });
    }
    const nt = (
      await client.search(ntds, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['invocationId'],
        explicitBufferAttributes: ['invocationId'],
      })
    ).searchEntries[0];
    const inv = nt?.invocationId;
    if (!Buffer.isBuffer(inv)) throw new DirectoryError('CF_ERR_AD_USN', `${ntds} has no invocationId`, { object: ntds });
    return { highestUsn, invocationId: guidToString(inv) };
  } catch (err) {
    throw toDirectoryError(err, 'read the USN watermark', 'rootDSE');
  }
}

export interface UsnPollOptions {
  baseDn: string;
  filter: string;
  attributes: string[];
  /** The highestUsn stored by the previous run; everything above it is returned. */
  sinceUsn: string;
  pageSize?: number;
}

/** Objects changed after `sinceUsn` (tombstones included), page by page. */
export async function* usnChanges(client: Client, opts: UsnPollOptions): AsyncGenerator<AdChange> {
  if (!/^\d+$/.test(opts.sinceUsn)) {
    throw new DirectoryError('CF_ERR_AD_USN', `stored USN watermark ${JSON.stringify(opts.sinceUsn.slice(0, 40))} is not a number`, {
      object: opts.baseDn,
      hint: 'the state store was edited or damaged: run a full import to set a new watermark',
    });
  }
  const next = (BigInt(opts.sinceUsn) + 1n).toString();
  const attributes = withAnchorAttributes([...opts.attributes, 'uSNChanged']);
  const names = attributeNames(attributes);
  // Tombstones lose most attributes, so the caller's filter would not match them.
  const filter = `(&(uSNChanged>=${next})(|${opts.filter}(isDeleted=TRUE)))`;
  try {
    const pages = client.searchPaginated(
      opts.baseDn,
      { scope: 'sub', filter, attributes, explicitBufferAttributes: AD_BINARY_ATTRIBUTES, paged: { pageSize: opts.pageSize ?? 500 } },
      new ShowDeletedControl(),
    );
    for await (const page of pages) for (const e of page.searchEntries) yield toAdChange(e, names);
  } catch (err) {
    throw toDirectoryError(err, `search uSNChanged>=${next}`, opts.baseDn);
  }
}
