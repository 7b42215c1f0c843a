// The AD agent where things are not as they should be, on the Samba forests: an account
// without "Replicating Directory Changes" (DirSync refused → uSNChanged polling, with a
// watermark that belongs to one DC), an export the DC refuses (recorded per object in
// the DC's words, the other objects written), and a DC certificate that does not verify
// against the configured CA (a clear error, nothing stored).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rootCertificates } from 'node:tls';
import { Attribute, Change, type Client } from 'ldapts';
import { unicodePwd } from '../../lab/samba/organization.ts';
import { ensureSamba, type SambaLab, sambaSkipReason } from '../../lab/samba/testing.ts';
import { formatAdWatermark, parseAdWatermark } from '../../src/sync/adWatermark.ts';
import * as cs from '../../src/sync/connectorSpace.ts';
import { getWatermark, runErrors, setWatermark } from '../../src/sync/runHistory.ts';
import { adminClient, grantDeletedObjectsRead, type SambaSyncFixture, sambaSyncFixture, values } from './sambaFixture.ts';

const skip = sambaSkipReason();
const POLL_ACCOUNT = 'cfusnpoll';

function replace(type: string, vals: (string | Buffer)[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: vals as string[] }) });
}

/** A plain account (no DirSync right) that may read CN=Deleted Objects; created once, password reset each run. */
async function pollAccount(lab: SambaLab): Promise<{ upn: string; passwordFile: string }> {
  const admin = await adminClient(lab, 'a');
  const dn = `CN=${POLL_ACCOUNT},${lab.dc.a.serviceAccountsDn}`;
  const password = `Cf-${Math.random().toString(36).slice(2)}-${Date.now()}!`;
  const upn = `${POLL_ACCOUNT}@foresta.test`;
  try {
    await admin
      .add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn: POLL_ACCOUNT,
        sAMAccountName: POLL_ACCOUNT,
        userPrincipalName: upn,
      })
      .catch((err: { code?: number }) => {
        if (err.code !== 68) throw err;
      });
    await admin.modify(dn, [replace('unicodePwd', [unicodePwd(password)])]);
    await admin.modify(dn, [replace('userAccountControl', ['66048'])]);
  } finally {
    await admin.unbind().catch(() => {});
  }
  await grantDeletedObjectsRead(lab, 'a', POLL_ACCOUNT);
  const dir = mkdtempSync(join(tmpdir(), 'cf-usnpoll-'));
  writeFileSync(join(dir, 'poll.pw'), password, { mode: 0o600 });
  return { upn, passwordFile: join(dir, 'poll.pw') };
}

function mailAttrs(nick: string, tag: string) {
  return {
    mail: `${nick}.${tag}@forest-a.test`,
    mailNickname: `${nick}${tag}`,
    displayName: `${nick} ${tag}`,
    proxyAddresses: [`SMTP:${nick}.${tag}@forest-a.test`],
  };
}

describe('AD agent faults on the Samba forests', { skip }, () => {
  describe('an account DirSync refuses: uSNChanged polling with a per-DC watermark', () => {
    let fx: SambaSyncFixture;
    let a: Client;
    before(async () => {
      const poll = await pollAccount(await ensureSamba());
      fx = await sambaSyncFixture({
        edit: (doc) => {
          Object.assign(doc.organizations.a?.directory ?? {}, { bindDn: poll.upn, password: { file: poll.passwordFile } });
        },
      });
      a = fx.a;
    });
    after(async () => {
      await fx?.cleanup();
    });

    it('full import sets a USN watermark; the delta sees a modify, a move (same anchor) and a delete (tombstone)', async () => {
      const t = fx.tag;
      const u1 = await fx.addUser(a, fx.sites.a, `Una ${t}`, mailAttrs('una', t));
      const u2 = await fx.addUser(a, fx.sites.a, `Vic ${t}`, mailAttrs('vic', t));
      const u3 = await fx.addUser(a, fx.sites.a, `Wes ${t}`, mailAttrs('wes', t));
      const [g1, g2, g3] = [await fx.guidOf(a, u1), await fx.guidOf(a, u2), await fx.guidOf(a, u3)];
      const full = await fx.run('a:full-import');
      assert.equal(full.status, 'success', full.message ?? '');
      const wm = parseAdWatermark(await getWatermark(fx.store, 'a', 'ad'));
      assert.equal(wm?.kind, 'usn', 'DirSync refused: the watermark is a USN');
      assert.equal((await cs.csByAnchor(fx.store, 'a', g1))?.dn, u1);

      await a.modify(u1, [replace('mail', [`una.new.${t}@forest-a.test`])]);
      const moved = `CN=Vic Moved ${t},${fx.gal.a}`;
      await a.modifyDN(u2, moved);
      await a.del(u3);
      const delta = await fx.run('a:delta-import');
      assert.equal(delta.status, 'success', delta.message ?? '');
      assert.ok((delta.counts.imported ?? 0) <= 2, `only the changed objects were read (${delta.counts.imported})`);
      assert.deepEqual(values(await cs.csByAnchor(fx.store, 'a', g1), 'mail'), [`una.new.${t}@forest-a.test`]);
      const vic = await cs.csByAnchor(fx.store, 'a', g2);
      assert.equal(vic?.dn, moved, 'a move is the same object under a new DN');
      assert.equal(vic?.state, 'normal');
      assert.equal((await cs.csByAnchor(fx.store, 'a', g3))?.state, 'deleted', 'the delete came as a tombstone');
      assert.equal(delta.counts.importDeletes, 1);
      const wm2 = parseAdWatermark(await getWatermark(fx.store, 'a', 'ad'));
      assert.ok(wm2?.kind === 'usn' && wm?.kind === 'usn' && BigInt(wm2.highestUsn) > BigInt(wm.highestUsn));
    });

    it('a USN watermark of another DC (invocationId) is void: the next delta is a full import', async () => {
      const wm = parseAdWatermark(await getWatermark(fx.store, 'a', 'ad'));
      assert.equal(wm?.kind, 'usn');
      if (wm?.kind !== 'usn') return;
      await fx.store.sql.tx(() =>
        setWatermark(fx.store, 'a', 'ad', formatAdWatermark({ ...wm, invocationId: '00000000-1111-2222-3333-444444444444' })),
      );
      const run = await fx.run('a:delta-import');
      assert.equal(run.status, 'success', run.message ?? '');
      assert.equal(run.counts.imported, 2, 'everything in scope was read again');
      const again = parseAdWatermark(await getWatermark(fx.store, 'a', 'ad'));
      assert.ok(again?.kind === 'usn' && again.invocationId === wm.invocationId, 'the DC’s own invocationId is stored again');
    });
  });

  describe('an export the DC refuses', () => {
    let fx: SambaSyncFixture;
    before(async () => {
      fx = await sambaSyncFixture({
        // A site convention pushes long aliases over AD's 64-character mailNickname limit.
        edit: (doc) => {
          for (const f of doc.sync.agents.b?.exportFlows ?? []) if (f.to === 'mailNickname') f.transforms = [{ prefix: 'forest-a-' }];
        },
      });
    });
    after(async () => {
      await fx?.cleanup();
    });

    it('is recorded for that object with the DC’s words; the others are written', async () => {
      const t = fx.tag;
      await fx.addUser(fx.a, fx.sites.a, `Short ${t}`, mailAttrs('short', t));
      const longNick = `long${t}`.padEnd(60, 'x');
      await fx.addUser(fx.a, fx.sites.a, `Long ${t}`, { ...mailAttrs('long', t), mailNickname: longNick });
      const run = await fx.run('full-cycle');
      assert.equal(run.status, 'completed-with-errors', run.message ?? '');
      const errors = (await runErrors(fx.store, run.id)).filter((e) => e.code === 'export-failed');
      assert.equal(errors.length, 1, JSON.stringify(await runErrors(fx.store, run.id)));
      const [e] = errors;
      assert.equal(e?.agent, 'b');
      assert.match(e?.dn ?? '', new RegExp(`^CN=Long ${t},OU=${t},OU=GAL Contacts,DC=forestb,DC=test$`, 'i'));
      assert.match(e?.reason ?? '', /^the DC refused to add CN=Long /i);
      assert.match(e?.reason ?? '', /mailNickname/, 'the DC names the attribute');
      assert.match(e?.reason ?? '', /\((AD error 0x[0-9A-F]+, )?LDAP result (19|21)\)$/);
      const inB = await fx.list(fx.b, fx.gal.b);
      assert.deepEqual(
        inB.map((x) => values(x, 'mailNickname')[0]),
        [`forest-a-short${t}`],
      );
    });
  });

  describe('STARTTLS on ldap:// to the DC’s IP address', () => {
    let fx: SambaSyncFixture;
    before(async () => {
      fx = await sambaSyncFixture({
        edit: (doc) => Object.assign(doc.organizations.a?.directory ?? {}, { url: 'ldap://127.0.0.2:389', startTls: true }),
      });
    });
    after(async () => {
      await fx?.cleanup();
    });

    it('verifies the certificate’s IP address against the CA and imports', async () => {
      await fx.addUser(fx.a, fx.sites.a, `Tls ${fx.tag}`, mailAttrs('starttls', fx.tag));
      const run = await fx.run('a:full-import');
      assert.equal(run.status, 'success', run.message ?? '');
      assert.equal(await cs.countObjects(fx.store, 'a'), 1);
    });
  });

  describe('ldaps with a CA that did not sign the DC certificate', () => {
    let fx: SambaSyncFixture;
    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cf-other-ca-'));
      writeFileSync(join(dir, 'other-ca.pem'), rootCertificates[0] ?? '');
      fx = await sambaSyncFixture({
        edit: (doc) => Object.assign(doc.organizations.a?.directory ?? {}, { caFile: join(dir, 'other-ca.pem') }),
      });
    });
    after(async () => {
      await fx?.cleanup();
    });

    it('fails the run with a clear TLS error naming the DC, and stores nothing', async () => {
      await fx.addUser(fx.a, fx.sites.a, `Tls ${fx.tag}`, mailAttrs('tls', fx.tag));
      const run = await fx.run('a:full-import');
      assert.equal(run.status, 'failed');
      assert.match(run.message ?? '', /TLS certificate of ldaps:\/\/127\.0\.0\.2:636 does not verify/);
      assert.equal(await cs.countObjects(fx.store, 'a'), 0);
      assert.equal(await getWatermark(fx.store, 'a', 'ad'), undefined);
      assert.doesNotMatch(run.message ?? '', new RegExp(fx.lab.galsyncPassword('a').replace(/[^\w]/g, '.')));
    });
  });
});
