#!/usr/bin/env bash
# Compiles the CLI to JavaScript: one ESM bundle of crossforest's own code in dist/ (the npm
# packages stay in node_modules, loaded as they are), plus the dashboard's preview worker.
# Why: running the TypeScript through tsx transpiles the whole import graph at every start
# (`crossforest --version` 1.1 s through tsx, 0.3 s from the bundle on this machine), which
# every command, worker and benchmark paid. bin/crossforest.js runs the bundle when it is newer
# than every source file and falls back to tsx otherwise, so an edited checkout never runs
# stale code. Non-code files (SQL migrations, assets) are read from the source tree
# (src/util/sourceTree.ts). Takes about a second; safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist
tmp="$(mktemp -d dist/.build-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
node_modules/.bin/esbuild crossforest=src/cli/main.ts previewWorker=src/coexistence/dashboard/previewWorker.ts \
  --bundle --splitting --platform=node --format=esm --target=node20 --packages=external --sourcemap \
  --outdir="$tmp" --out-extension:.js=.mjs --log-level=warning
# Renamed into place, shared chunks first and the entry points last: a CLI started meanwhile
# runs the old bundle or the new one, never half of each. Chunk names are content hashes, so
# the old ones stay valid for a process still running; those not rebuilt for a day go.
for f in "$tmp"/*-*; do [ -e "$f" ] && mv -f "$f" dist/; done
for f in "$tmp"/*; do mv -f "$f" dist/; done
find dist -maxdepth 1 -name '*-*.mjs*' -mmin +1440 -delete
