# Sourced by scripts/demo.sh for `--directory samba`: the same job on Active Directory. The
# lab's two Samba AD DCs (FORESTA 127.0.0.2, FORESTB 127.0.0.3) with their own Dovecot stores
# (dovecot-a-ad, dovecot-b-ad: the same generated corpus as the OpenLDAP stores, manifest
# .lab/corpus-a-ad.json), and a project file of its own, crossforest-samba.yaml (state store
# crossforest-samba.sqlite), so the OpenLDAP demo's crossforest.yaml and its batches are never
# touched. Uses cf, step and the helpers demo.sh defines before sourcing this file.

SAMBA_CONFIG=crossforest-samba.yaml
cfs() { cf -c "$SAMBA_CONFIG" "$@"; }

# print_report: the JSON of `crossforest --json batch report` (standard input) in words.
print_report() {
  node -e '
    const fs = require("fs");
    const out = JSON.parse(fs.readFileSync(0, "utf8"));
    console.log(`  report: ${out.html}\n          ${out.json}`);
    const r = JSON.parse(fs.readFileSync(out.json, "utf8"));
    const t = r.totals;
    const states = Object.entries(t.byState).map(([s, n]) => `${n} ${s}`).join(", ");
    const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
    console.log(`  batch ${r.batch} (${r.sourceOrg} -> ${r.targetOrg}, ${r.targetStore}): ${r.status}; ${t.mailboxes} mailboxes (${states})`);
    console.log(`  copied ${t.copied}/${t.messages} messages, ${mb(t.copiedBytes)}/${mb(t.bytes)}, ${t.skipped} skipped, ${t.messagesPerSecond} msg/s, mean fidelity ${t.meanFidelity ?? "-"}`);
    for (const m of r.mailboxes)
      console.log(`    ${m.source.padEnd(30)} -> ${m.target.padEnd(30)} ${m.state.padEnd(10)} ${String(m.copied).padStart(4)}/${String(m.messages).padEnd(4)} fidelity ${m.fidelity ?? "-"}${m.error ? `  error: ${m.error}` : ""}`);
  '
}

demo_samba() {
  step "lab up --directory samba: the two forests as Samba AD DCs (FORESTA 127.0.0.2, FORESTB 127.0.0.3), their Dovecot stores (with the sample mail) and Postfix pair, beside the OpenLDAP lab"
  [ -d .lab-test ] && CROSSFOREST_LAB_DIR="$PWD/.lab-test" ./bin/crossforest.js lab down || true
  cf lab up --directory samba

  # The project file: `crossforest init --directory samba`, which matches the Samba-mode lab. One
  # written by an older crossforest lacks sections this demo uses: it is kept as .bak.
  if [ ! -f "$SAMBA_CONFIG" ]; then
    cfs init --directory samba
  else
    local missing=() key
    for key in '^sync:' '^migration:' '^  targetUsers:' '^coexistence:'; do
      grep -q "$key" "$SAMBA_CONFIG" || missing+=("${key//[\^ :]/}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      step "project file: $SAMBA_CONFIG has no ${missing[*]} section; keeping it as $SAMBA_CONFIG.bak and writing the current example"
      cp "$SAMBA_CONFIG" "$SAMBA_CONFIG.bak"
      cfs init --directory samba --force
    fi
  fi
  echo "  project file $SAMBA_CONFIG (state store $(sed -n 's/^  path: *\([^ ]*\).*/\1/p' "$SAMBA_CONFIG" | head -n 1)); every command below runs with -c $SAMBA_CONFIG"

  step "check: every endpoint of both organizations (the DCs over ldaps, their Dovecot stores)"
  cfs check

  step "inventory: what each organization holds"
  cfs inventory

  step "GAL sync both ways on Active Directory: each forest's people become contacts in the other's OU=GAL Contacts"
  cfs sync run full-cycle

  step "migration batch demo-ad: four sample mailboxes of FORESTA (not the showcase or delegate users), pre-staged as new FORESTB users"
  local names=.lab/demo-ad-batch.txt
  pick_batch .lab/corpus-a-ad.json "$names"
  cat "$names"
  if cfs --json batch list | grep -q '"name": "demo-ad"'; then
    echo "(batch demo-ad exists from an earlier run: showing it; \`crossforest -c $SAMBA_CONFIG lab reset --yes\` starts over (lab data and this project's state store))"
  else
    cfs batch create demo-ad --from "$names" --target-store store-b --retry-interval 2 --workgroup demo
    cfs batch start demo-ad || true
  fi
  cfs batch show demo-ad
  cfs plan demo-ad || true

  step "report"
  cfs --json batch report demo-ad | print_report

  local first
  first=$(grep -v '^#' "$names" | head -n 1)
  step "initial password: pre-stage gave the new FORESTB user of $first a generated password, sealed in the state store (crossforest batch password; shown here only masked)"
  # The password itself never reaches the terminal or the log: awk prints its length only.
  if ! cfs batch password "$first" | awk -F '\t' -v user="$first" -v cfg="$SAMBA_CONFIG" '
    { n++; if (length($2) > 0) printf "  %s: an initial password is set, %d characters (not shown; crossforest -c %s batch password %s prints it)\n", $1, length($2), cfg, user
      else printf "  %s: no initial password\n", $1 }
    END { if (!n) print "  (no answer)" }'; then
    echo "  (batch password $first failed: see the message above)"
  fi

  step "GAL find on Active Directory: crossforest serve with $SAMBA_CONFIG, in the background; jmuller@forest-a.test (checked by a bind to FORESTA) looks up \"John Smith\" in both address books ($SERVE/api/galfind)"
  mkdir -p "$logs"
  # Started directly (not through cfs): $! must be the serve process itself, which stop_background ends.
  ./bin/crossforest.js -c "$SAMBA_CONFIG" serve >"$logs/serve-samba.out" 2>"$logs/serve-samba.log" &
  pids+=($!)
  local serve_pid=$!
  wait_for_log "$logs/serve-samba.log" 'crossforest serve: listening' "$serve_pid"
  grep -h -e '^crossforest serve: ' "$logs/serve-samba.log" | sed "s/^/  /"
  as_user jmuller@forest-a.test --cacert "$CA" -G "$SERVE/api/galfind" --data-urlencode 'q=John Smith' | print_galfind
  stop_background
  echo "  serve (pid $serve_pid) stopped; its log: $logs/serve-samba.log"

  step "not shown in Samba mode: the policy relay (out-of-office, read receipts), free/busy and the dashboard"
  echo "  they do not depend on the directory kind; the plain demo shows them: bash scripts/demo.sh"

  step "next"
  echo "  the tour's commands take -c $SAMBA_CONFIG for the Active Directory project, e.g."
  echo "    ./bin/crossforest.js -c $SAMBA_CONFIG sync run delta-cycle     (DirSync deltas)"
  echo "    ./bin/crossforest.js -c $SAMBA_CONFIG batch password $first    (the initial password, to hand to the user)"
  echo "  the OpenLDAP demo, with the relay, free/busy and the dashboard: bash scripts/demo.sh"
}
