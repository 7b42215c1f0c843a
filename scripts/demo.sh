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
