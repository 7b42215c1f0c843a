// The `migration:` section of the `crossforest init` example, for the lab's slapd forests
// (default) or its Samba AD DCs (`crossforest init --directory samba`): accounts that may
// write users, where the new users go, the target store and what mailbox-enables a user.
import type { ExampleDirectory } from '../sync/exampleConfig.ts';

const STORE_B_DN =
  'CN=Mailbox Store B,CN=First Storage Group,CN=InformationStore,CN=MAIL-B,CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=ForestB,CN=Microsoft Exchange,CN=Services,CN=Configuration';

const COMMON_TAIL = `  maxConcurrentPerSourceStore: 8
  nameConflicts: suffix             # the lab's forests share account names (jmuller …): try name-a; default refuse (ADMT's)
  reportsDir: reports
  defaults: { retryIntervalSeconds: 5, badItemLimit: 10, largeItemLimit: 0, allowMerge: true, concurrency: 4, cutover: immediate, cutoverSettleSeconds: 5 }
  # notices:                        # user notices (the seed's expectations e-mail) via the target org's SMTP
  #   smtp: { host: 127.0.0.1, port: 5872, tls: none }   # the lab: Postfix B's submission port (trusts loopback)
  #   from: "Migration Team <migration@forest-b.test>"
  #   after: { subject: "Welcome to {targetAddress}", body: "Hello {displayName}, ..." }   # default: the built-in text
`;

const OPENLDAP = `migration:                          # \`crossforest batch\`: migration batches (pre-stage, copy, cutover, clean-up, verify, report)
  directoryAccounts:                # accounts that may write users (galsync writes only its GAL contacts)
    a: { bindDn: "cn=admin,dc=forest-a,dc=test", password: { file: .lab/secrets/forest-a-admin.pw } }
    b: { bindDn: "cn=admin,dc=forest-b,dc=test", password: { file: .lab/secrets/forest-b-admin.pw } }
  targetContainer: ou=Sites,dc=forest-b,dc=test   # where pre-staged users are created
  targetLegacyExchangeDnPrefix: "/o=ForestB/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
  targetStores:                     # --target-store <name>
    store-b:
      organization: b
      homeMDB: "${STORE_B_DN},DC=forest-b,DC=test"
      maxConcurrentMailboxes: 4
  copyPasswordHash: true            # OpenLDAP only: users keep their password in the new mailbox
${COMMON_TAIL}`;

const SAMBA = `migration:                          # \`crossforest batch\`: migration batches (pre-stage, copy, cutover, clean-up, verify, report)
  directoryAccounts:                # accounts that may create and change users (galsync writes only its GAL contacts)
    a: { bindDn: Administrator@foresta.test, password: { file: .lab/secrets/samba-a-admin.pw } }   # the lab's; yours: write on the source users
    b: { bindDn: Administrator@forestb.test, password: { file: .lab/secrets/samba-b-admin.pw } }   #   and "Create User objects" in targetContainer
  targetContainer: OU=Sites,DC=forestb,DC=test   # where pre-staged users are created (inside GAL sync's containers, so it joins them)
  targetLegacyExchangeDnPrefix: "/o=ForestB/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
  targetUsers:                      # AD users are created with a generated initial password, never copied
    enabled: true                   # false: created disabled, without a password
    passwordKeyFile: .lab/secrets/initial-passwords.key   # seals the passwords in the state store; made at first use
  sourceMailboxAttributes: [homeMDB, msExchHomeServerName]   # what cutover clears on the source user (rollback restores it)
  targetStores:                     # --target-store <name>
    store-b:
      organization: b
      homeMDB: "${STORE_B_DN},DC=forestb,DC=test"
      # mailboxAttributes: { msExchHomeServerName: "/o=ForestB/ou=.../cn=MAIL-B" }   # more of what mailbox-enables a user
      maxConcurrentMailboxes: 4
${COMMON_TAIL}`;

export function exampleMigrationSection(directory: ExampleDirectory): string {
  return directory === 'samba' ? SAMBA : OPENLDAP;
}
