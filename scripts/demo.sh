#!/usr/bin/env bash
# The main job end to end on the lab: install what is missing, start the two forests
# and their mail stores, check every endpoint, take the inventory, GAL-sync the two
# forests, migrate a batch of mailboxes, and print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cf() { ./bin/crossforest.js "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "lab up: two forests (OpenLDAP), two mail stores (Dovecot), a sample organization"
cf lab up
[ -f crossforest.yaml ] || cf init

step "check: every endpoint of both organizations"
cf check

step "inventory: what each organization holds"
cf inventory

# ---- migration (issue 5): GAL sync both ways, then a batch of sample users end to end.
if ! grep -q '^migration:' crossforest.yaml || ! grep -q '^sync:' crossforest.yaml; then
  step "project file: crossforest.yaml predates the sync/migration sections; keeping it as crossforest.yaml.bak and writing the current example"
  cp crossforest.yaml crossforest.yaml.bak
  cf init --force
fi

step "GAL sync both ways: each forest's people become contacts in the other's ou=GAL Contacts"
cf sync run full-cycle

step "migration batch: four sample mailboxes of forest A (not the showcase or delegate users other demos use)"
names=.lab/demo-batch.txt
node -e '
  const c = JSON.parse(require("fs").readFileSync(".lab/corpus-a.json", "utf8"));
  const busy = new Set(JSON.stringify(c.acls ?? []).match(/[\w.-]+@forest-a\.test/g) ?? []);
  const size = (u) => u.folders.reduce((a, f) => a + f.bytes, 0);
  const pick = c.users.slice(10).filter((u) => !(u.roles ?? []).length && !busy.has(u.upn)).sort((a, b) => size(a) - size(b)).slice(0, 4);
  require("fs").writeFileSync(process.argv[1], "# demo batch: generated from .lab/corpus-a.json\n" + pick.map((u) => u.upn).join("\n") + "\n");
' "$names"
cat "$names"
if cf --json batch list | grep -q '"name": "demo"'; then
  echo "(batch demo exists from an earlier run: showing it; \`crossforest lab reset\` starts over)"
else
  cf batch create demo --from "$names" --target-store store-b --retry-interval 2 --workgroup demo
  cf batch start demo || true
fi
cf batch show demo
cf plan demo || true

step "report"
cf batch report demo
