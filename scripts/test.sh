#!/usr/bin/env bash
# Runs every test: installs what is missing, checks lint and types, brings up a lab of the
# tests' own on loopback, runs the unit tests and the live tests against the real servers,
# and stops the lab it started.
#
# The tests have their own lab folder, .lab-test/ (the demo and a developer's commands use
# .lab/), and a full run starts it from fresh data: the tests never depend on what the demo
# or an earlier run did to the directories and mailboxes. Both labs listen on the same
# ports, so the other one is stopped first (its data is kept; `lab up` brings it back).
#
# With file arguments, only those files run, on the test lab as it is (a developer's loop;
# KEEP_LAB=1 leaves it running afterwards, CROSSFOREST_FRESH_LAB=1 starts it fresh anyway).
# Node 20's test runner does not find *.test.ts by itself: the files are listed here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/privilege.sh
bash scripts/setup.sh
reexec_as_root "$@"

if [ $# -eq 0 ]; then
  # Lint and the type check first: a submission that fails them fails fast, before any server starts.
  echo "test: lint (biome) and type check (tsc)" >&2
  npx --no-install biome check src test lab bench bin >&2
  npx --no-install tsc --noEmit -p . >&2
fi

export CROSSFOREST_LAB_DIR="${CROSSFOREST_LAB_DIR:-$PWD/.lab-test}"
for other in "$PWD/.lab" "$PWD/.lab-test"; do
  if [ "$other" != "$CROSSFOREST_LAB_DIR" ] && [ -f "$other/lab.json" ]; then
    CROSSFOREST_LAB_DIR="$other" ./bin/crossforest.js lab down >&2 || true
  fi
done

# KEEP_LAB=1 leaves the lab running afterwards (for a developer running tests again and again).
cleanup() { if [ -z "${KEEP_LAB:-}" ]; then ./bin/crossforest.js lab down >&2 || true; fi; }
trap cleanup EXIT
if [ $# -eq 0 ] || [ -n "${CROSSFOREST_FRESH_LAB:-}" ]; then
  # Fresh sample data (secrets, TLS and the Samba provisioning cache are kept). No project
  # state is touched: the tests' project files live in temporary folders of their own.
  ./bin/crossforest.js lab reset --keep-state >&2
else
  ./bin/crossforest.js lab up >&2
fi

shopt -s globstar nullglob
files=(test/**/*.test.ts)
if [ $# -gt 0 ]; then files=("$@"); fi
echo "test: ${#files[@]} test files" >&2
# One file at a time: the live tests share the two forests and stores of one lab.
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"

# The whole suite again for the files that touch the state store, on PostgreSQL (the lab's
# cluster; each store a fresh database, test/helpers/state.ts): both engines pass the same
# tests. The databases the pass made are dropped afterwards, whatever its outcome.
if [ $# -eq 0 ]; then
  mapfile -t statefiles < <(grep -lE 'migLab|syncFixture|sambaSyncFixture|dashboardProject|freshStore|openTestStore|openProjectStore|freshPostgres|TEST_ENGINE' "${files[@]}" test/check/check.test.ts | sort -u)
  drop_test_databases() {
    PGPASSWORD="$(head -n1 "$CROSSFOREST_LAB_DIR/secrets/postgres.pw")" psql -X -q -At -h 127.0.0.1 -p 5433 -U crossforest -d postgres \
      -c "SELECT datname FROM pg_database WHERE datname LIKE 'cf\_test\_%'" | while read -r db; do
      PGPASSWORD="$(head -n1 "$CROSSFOREST_LAB_DIR/secrets/postgres.pw")" psql -X -q -h 127.0.0.1 -p 5433 -U crossforest -d postgres \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    done
  }
  echo "test: ${#statefiles[@]} state-touching test files again, on PostgreSQL" >&2
  rc=0
  CROSSFOREST_TEST_STATE=postgres node --import tsx --test --test-concurrency=1 --test-reporter=spec "${statefiles[@]}" || rc=$?
  drop_test_databases || true
  exit "$rc"
fi
