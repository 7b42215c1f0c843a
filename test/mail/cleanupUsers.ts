// Removes copy-engine test and bench users left behind by an interrupted run (the test
// files and the bench remove their own when they finish):
//   node --import tsx test/mail/cleanupUsers.ts
import { Client } from 'ldapts';
import { labSecret } from '../helpers/lab.ts';
import { mailLab, removeUsers } from './fixtures.ts';

const lab = await mailLab();
for (const org of ['a', 'b'] as const) {
  const f = lab.info.forests[org];
  const c = new Client({ url: f.ldapUrl, timeout: 10_000 });
  let sams: string[];
  try {
    await c.bind(f.adminDn, labSecret(lab.info, `forest-${org}-admin.pw`));
    const { searchEntries } = await c.search(f.sitesDn, {
      scope: 'one',
      filter: '(|(cn=cft-*)(cn=cfb-*)(cn=cfbench-*)(cn=cftest-*))',
      attributes: ['cn'],
    });
    sams = searchEntries.map((e) => String(e.cn));
  } finally {
    await c.unbind();
  }
  await removeUsers(lab, org, sams);
  process.stdout.write(`forest ${org}: removed ${sams.length} test users\n`);
}
