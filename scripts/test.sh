#!/usr/bin/env bash
# Runs every test: installs what is missing, brings the lab up on loopback, runs the
# unit tests and the live tests against the real servers, and stops the lab it started.
# Node 20's test runner does not find *.test.ts by itself: the files are listed here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Lint and the type check first: a submission that fails them fails fast, before any server starts.
if [ $# -eq 0 ]; then
  echo "test: lint (biome) and type check (tsc)" >&2
  npx --no-install biome check src test lab bench bin >&2
  npx --no-install tsc --noEmit -p . >&2
fi

export CROSSFOREST_LAB_DIR="${CROSSFOREST_LAB_DIR:-$PWD/.lab}"
# KEEP_LAB=1 leaves the lab running afterwards (for a developer running tests again and again).
cleanup() { if [ -z "${KEEP_LAB:-}" ]; then ./bin/crossforest.js lab down >&2 || true; fi; }
trap cleanup EXIT
./bin/crossforest.js lab up >&2

shopt -s globstar nullglob
files=(test/**/*.test.ts)
if [ $# -gt 0 ]; then files=("$@"); fi
echo "test: ${#files[@]} test files" >&2
# One file at a time: the live tests share the two forests and stores of one lab.
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
