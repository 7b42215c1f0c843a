// Lets the galsync account list and read CN=Deleted Objects, so that its DirSync and
// Show Deleted searches see tombstones. Samba (unlike Windows) hides them from a
// non-administrator even with "Replicating Directory Changes"; AD sync setups document
// the step as `dsacls "CN=Deleted Objects,…" /G account:LCRP`. That container's security
// descriptor is readable only by SYSTEM, so neither LDAP nor `samba-tool dsacl` can edit
// it: this writes through the DC's sam.ldb with Samba's own Python bindings, as
// samba-tool does internally. The lab runs it at provisioning with the DC stopped;
// tests run it on a running DC for other accounts (ldb locks the file). Idempotent.
import { run } from '../proc.ts';

const SCRIPT = `
import sys, ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
from samba.ndr import ndr_unpack, ndr_pack
from samba.dcerpc import security
url, conf, dn, account = sys.argv[1:5]
lp = LoadParm(); lp.load(conf)
db = SamDB(url=url, session_info=system_session(), lp=lp)
sid = security.dom_sid(db.get_domain_sid())
acct = db.search(base=db.domain_dn(), expression='(sAMAccountName=%s)' % ldb.binary_encode(account), attrs=['objectSid'])
if len(acct) != 1:
    sys.exit('no account %s' % account)
asid = str(ndr_unpack(security.dom_sid, acct[0]['objectSid'][0]))
res = db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=['nTSecurityDescriptor'], controls=['show_deleted:1'])
sddl = ndr_unpack(security.descriptor, res[0]['nTSecurityDescriptor'][0]).as_sddl(sid)
ace = '(A;;LCRP;;;%s)' % asid
if ace not in sddl:
    new = sddl.replace('S:', ace + 'S:', 1) if 'S:' in sddl else sddl + ace
    m = ldb.Message(); m.dn = ldb.Dn(db, dn)
    m['nTSecurityDescriptor'] = ldb.MessageElement(ndr_pack(security.descriptor.from_sddl(new, sid)), ldb.FLAG_MOD_REPLACE, 'nTSecurityDescriptor')
    db.modify(m, controls=['show_deleted:1'])
`;

export interface DeletedObjectsGrant {
  samLdb: string;
  smbConf: string;
  baseDn: string;
  account: string;
  realm: string;
}

export async function grantDeletedObjectsRead(g: DeletedObjectsGrant): Promise<void> {
  await run('/usr/bin/python3', ['-c', SCRIPT, g.samLdb, g.smbConf, `CN=Deleted Objects,${g.baseDn}`, g.account], {
    what: `Samba DC ${g.realm}: read on CN=Deleted Objects for ${g.account}`,
    timeoutMs: 60_000,
  });
}
