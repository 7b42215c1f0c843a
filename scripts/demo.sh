#!/usr/bin/env bash
# The main job end to end on the lab: install what is missing, start the two forests
# and their mail stores, check every endpoint, take the inventory, GAL-sync the two
# forests, migrate a batch of mailboxes, print the report; then run the coexistence
# service and the mail-flow relay for a moment and show what they do with real requests.
# Runs any number of times: the lab and the batch of an earlier run are kept and shown.
#
#   bash scripts/demo.sh                       the OpenLDAP forests (crossforest.yaml), everything
#   bash scripts/demo.sh --directory samba     the same job on two Samba AD DCs (crossforest-samba.yaml):
#                                              scripts/lib/demo-samba.sh
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: bash scripts/demo.sh [--directory openldap|samba]   (default openldap)"
directory=openldap
argv=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --directory)
      [ $# -ge 2 ] || { echo "demo.sh: --directory needs openldap or samba; $usage" >&2; exit 2; }
      directory=$2
      shift 2
      ;;
    --directory=*) directory=${1#--directory=}; shift ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
done
case "$directory" in
  openldap | samba) ;;
  *) echo "demo.sh: --directory must be openldap or samba, not '$directory'" >&2; exit 2 ;;
esac
set -- "${argv[@]}"

. scripts/lib/privilege.sh
bash scripts/setup.sh
reexec_as_root "$@"

# The demo's lab is .lab/ (the tests have .lab-test/); both use the same ports.
export CROSSFOREST_LAB_DIR="$PWD/.lab"
cf() { ./bin/crossforest.js "$@"; }
step() { printf '\n== %s\n' "$*"; }

# ---- helpers of both demos (the Samba one in scripts/lib/demo-samba.sh uses them too).

# pick_batch MANIFEST FILE: four small sample mailboxes of forest A from a corpus manifest
# (not the showcase, hoarder, big or delegate users other demos use), one login a line.
pick_batch() {
  node -e '
    const [manifest, out] = process.argv.slice(1);
    const c = JSON.parse(require("fs").readFileSync(manifest, "utf8"));
    const busy = new Set(JSON.stringify(c.acls ?? []).match(/[\w.-]+@forest-a\.test/g) ?? []);
    const size = (u) => u.folders.reduce((a, f) => a + f.bytes, 0);
    const pick = c.users.slice(10).filter((u) => !(u.roles ?? []).length && !busy.has(u.upn)).sort((a, b) => size(a) - size(b)).slice(0, 4);
    require("fs").writeFileSync(out, `# demo batch: generated from ${manifest}\n` + pick.map((u) => u.upn).join("\n") + "\n");
  ' "$1" "$2"
}

CA=.lab/tls/ca.crt
SERVE=https://127.0.0.1:8443
logs=.lab/demo-logs
pids=()
stop_background() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_background EXIT

# wait_for_log FILE TEXT PID: until FILE has TEXT; fails (showing the log) if PID ends or after 60 s.
wait_for_log() {
  local tries=600
  until grep -q -- "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null || [ $((tries--)) -le 0 ]; then
      echo "demo: no \"$2\" in $1:" >&2
      tail -n 20 "$1" >&2
      return 1
    fi
    sleep 0.1
  done
}

# as_user LOGIN CURL-ARGS…: curl authenticated as a lab user (every sample user has the password
# of .lab/secrets/users.pw); it goes to curl on standard input (never on a command line, where
# `ps` would show it).
as_user() {
  local login=$1
  shift
  printf 'user = "%s:%s"\n' "$login" "$(head -n 1 .lab/secrets/users.pw)" | curl -sS --fail-with-body -K - "$@"
}

# print_galfind: the JSON answer of /api/galfind (standard input) as a table.
print_galfind() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const row = (c) => "  " + c[0].padEnd(28) + c[1].padEnd(32) + c[2].padEnd(7) + c[3].padEnd(10) + c[4].padEnd(10) + c[5];
    console.log(row(["name", "address", "kind", "directory", "mailbox", "title, office"]));
    for (const e of r.entries) console.log(row([e.displayName, e.email ?? "-", e.kind, e.directory, e.mailboxOrg ?? "-", [e.title, e.office].filter(Boolean).join(", ")]));
    console.log(`  ${r.total} found${r.truncated ? " (truncated)" : ""}`);
  '
}

if [ "$directory" = samba ]; then
  . scripts/lib/demo-samba.sh
  demo_samba
  exit 0
fi

step "lab up: two forests (OpenLDAP), two mail stores (Dovecot), Postfix, Radicale, a sample organization"
[ -d .lab-test ] && CROSSFOREST_LAB_DIR="$PWD/.lab-test" ./bin/crossforest.js lab down || true
cf lab up

# The project file: the `crossforest init` example, which matches the lab. One written by an
# older crossforest lacks sections this demo uses: it is kept as crossforest.yaml.bak.
if [ ! -f crossforest.yaml ]; then
  cf init
else
  missing=()
  for key in '^sync:' '^migration:' '^  dashboard:' '^transport:' '^audit:'; do
    grep -q "$key" crossforest.yaml || missing+=("${key//[\^ :]/}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "project file: crossforest.yaml has no ${missing[*]} section; keeping it as crossforest.yaml.bak and writing the current example"
    cp crossforest.yaml crossforest.yaml.bak
    cf init --force
  fi
fi

step "check: every endpoint of both organizations"
cf check

step "inventory: what each organization holds"
cf inventory

# ---- migration (issue 5): GAL sync both ways, then a batch of sample users end to end.
step "GAL sync both ways: each forest's people become contacts in the other's ou=GAL Contacts"
cf sync run full-cycle

step "migration batch: four sample mailboxes of forest A (not the showcase or delegate users other demos use)"
names=.lab/demo-batch.txt
pick_batch .lab/corpus-a.json "$names"
cat "$names"
if cf --json batch list | grep -q '"name": "demo"'; then
  echo "(batch demo exists from an earlier run: showing it; \`crossforest lab reset --yes\` starts over (lab data and the project's state store))"
else
  cf batch create demo --from "$names" --target-store store-b --retry-interval 2 --workgroup demo
  cf batch start demo || true
fi
cf batch show demo
cf plan demo || true

step "report"
cf batch report demo

# ---- coexistence and mail flow: `crossforest serve` and `crossforest relay` in the background.
mkdir -p "$logs"

step "coexistence and mail flow: crossforest serve and crossforest relay, started in the background"
./bin/crossforest.js serve >"$logs/serve.out" 2>"$logs/serve.log" &
pids+=($!)
serve_pid=$!
# Log level info: the relay writes one JSON line per message with its decision (never a body).
CROSSFOREST_LOG_LEVEL=info ./bin/crossforest.js relay >"$logs/relay.out" 2>"$logs/relay.log" &
pids+=($!)
relay_pid=$!
wait_for_log "$logs/serve.log" 'crossforest serve: listening' "$serve_pid"
wait_for_log "$logs/relay.log" 'crossforest relay: ' "$relay_pid"
grep -h -e '^crossforest serve: ' -e '^crossforest relay: ' "$logs/serve.log" "$logs/relay.log" | sed "s/^/  /"
echo "  (pids: serve $serve_pid, relay $relay_pid; logs in $logs/)"

step "GAL find: jmuller@forest-a.test looks up \"John Smith\" in both organizations' address books ($SERVE/api/galfind)"
as_user jmuller@forest-a.test --cacert "$CA" -G "$SERVE/api/galfind" --data-urlencode 'q=John Smith' | print_galfind

step "free/busy across the organizations: jmuller@forest-a.test asks when soren.odegard@forest-b.test is busy"
day=$(date -u -d tomorrow +%Y-%m-%d)
cal="http://127.0.0.1:5232/sodegard%40forest-b.test/cf-demo/"
echo "  the B user's calendar (Radicale B, CalDAV) gets one meeting tomorrow, $day 09:00-10:30 UTC:"
code=$(as_user sodegard@forest-b.test -o /dev/null -w '%{http_code}' -X MKCALENDAR "$cal" || true)
echo "  MKCALENDAR $cal -> $code (201 made, 405 already there)"
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crossforest//demo//EN\r\nBEGIN:VEVENT\r\nUID:cf-demo-meeting\r\nDTSTAMP:%sT000000Z\r\nDTSTART:%sT090000Z\r\nDTEND:%sT103000Z\r\nSUMMARY:Integration steering meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' \
  "${day//-/}" "${day//-/}" "${day//-/}" >"$logs/meeting.ics"
code=$(as_user sodegard@forest-b.test -o /dev/null -w '%{http_code}' -T "$logs/meeting.ics" -H 'Content-Type: text/calendar; charset=utf-8' "${cal}cf-demo-meeting.ics")
echo "  PUT ${cal}cf-demo-meeting.ics -> $code (201 new, 204 replaced)"
echo "  $SERVE/api/freebusy, $day 08:00-12:00 UTC in 30-minute slots (jmuller's own calendar is on Radicale A):"
as_user jmuller@forest-a.test --cacert "$CA" -G "$SERVE/api/freebusy" \
  --data-urlencode "start=${day}T08:00:00Z" --data-urlencode "end=${day}T12:00:00Z" --data-urlencode 'interval=30' \
  --data-urlencode 'u=soren.odegard@forest-b.test' --data-urlencode 'u=jose.muller@forest-a.test' | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const word = { 0: "free", 1: "tent.", 2: "BUSY", 3: "OOF", 4: "n/a" };
  const times = [...(r.people[0]?.fbdata ?? "")].map((_, i) => `${String(8 + Math.floor(i / 2)).padStart(2, "0")}:${i % 2 ? "30" : "00"}`);
  console.log("  " + "".padEnd(36) + times.map((t) => t.padEnd(6)).join(""));
  for (const p of r.people)
    console.log("  " + `${p.address} (${p.org ?? "?"})`.padEnd(36) + [...p.fbdata].map((d) => (word[d] ?? d).padEnd(6)).join("") + `  fbdata ${p.fbdata}${p.error ? ` (${p.error})` : ""}`);
'

# relay_decision MESSAGE-ID: the relay's log line about that message, in words (waits up to 30 s).
relay_decision() {
  node -e '
    const [file, id] = process.argv.slice(1);
    const end = Date.now() + 30_000;
    (function poll() {
      const lines = require("fs").readFileSync(file, "utf8").split("\n").filter((l) => l.startsWith("{"));
      const o = lines.map((l) => JSON.parse(l)).find((x) => x.messageId === id && x.result);
      if (!o) {
        if (Date.now() > end) { console.error(`demo: the relay logged nothing about ${id} (${file})`); process.exit(1); }
        return setTimeout(poll, 200);
      }
      console.log(`  relay ${o.listener}: ${o.result}, kind ${o.kind ?? "-"}${o.signals?.length ? ` (rules: ${o.signals.join(", ")})` : ""}`);
      for (const b of o.blocked ?? []) console.log(`    blocked: ${b.recipient} (policy ${b.policy})`);
      if (o.stripped?.length) console.log(`    stripped: ${o.stripped.join(", ")}`);
      console.log(`    reply: ${o.reply}`);
    })();
  ' "$logs/relay.log" "<$1>"
}

step "out-of-office to the Internet: José's auto-reply to victim@internet.test leaves through Postfix A (submission 5871), whose smart host is the relay"
oof_id="demo-oof.$(date +%s%N)@forest-a.test"
printf 'Message-ID: <%s>\r\nDate: %s\r\nFrom: José Müller <jose.muller@forest-a.test>\r\nTo: victim@internet.test\r\nSubject: Automatic reply: Need V1agra?\r\nAuto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\nIn-Reply-To: <spam@spammer.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nI am out of the office until Monday; my house is empty.\r\n' \
  "$oof_id" "$(date -R)" >"$logs/oof.eml"
sed -n 's/^\(Message-ID\|From\|To\|Subject\|Auto-Submitted\): */  > &/p' "$logs/oof.eml" | tr -d '\r'
# MAIL FROM:<> (the null sender), as vacation responders send.
curl -sS "smtp://127.0.0.1:5871" --mail-from '' --mail-rcpt victim@internet.test -T "$logs/oof.eml"
echo "  Postfix A took it (250) and hands it to its relayhost, the relay's a-outbound listener:"
relay_decision "$oof_id"
# What Postfix A did with the relay's answer (the null sender gets no bounce).
qid=$(grep -m 1 -F "message-id=<$oof_id>" .lab/postfix-a/postfix.log | sed -n 's/.*: \([0-9A-F]\{6,\}\): message-id=.*/\1/p')
for _ in $(seq 50); do grep -q "$qid: to=.*status=" .lab/postfix-a/postfix.log && break; sleep 0.2; done
grep -m 1 "$qid: to=.*status=" .lab/postfix-a/postfix.log | sed 's/^.*: to=/  postfix-a: to=/'

step "read receipt stripped: a message from the Internet asks José for one (Disposition-Notification-To); the relay's a-inbound listener (10125) stands in front of Postfix A's MX"
dnt_id="demo-dnt.$(date +%s%N)@internet.test"
printf 'Message-ID: <%s>\r\nDate: %s\r\nFrom: Outsider <someone@internet.test>\r\nTo: jose.muller@forest-a.test\r\nSubject: Did you read this?\r\nDisposition-Notification-To: someone@internet.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease confirm you read it.\r\n' \
  "$dnt_id" "$(date -R)" >"$logs/dnt.eml"
sed -n 's/^\(Message-ID\|From\|To\|Subject\|Disposition-Notification-To\): */  > &/p' "$logs/dnt.eml" | tr -d '\r'
curl -sS "smtp://127.0.0.1:10125" --mail-from someone@internet.test --mail-rcpt jose.muller@forest-a.test -T "$logs/dnt.eml"
relay_decision "$dnt_id"
echo "  delivered to José's INBOX (Dovecot A, read over IMAPS as jmuller@forest-a.test); its header:"
uid=""
for _ in $(seq 100); do
  uid=$(as_user jmuller@forest-a.test --cacert "$CA" "imaps://127.0.0.1:9931/INBOX" -X "UID SEARCH HEADER Message-ID \"$dnt_id\"" |
    tr -d '\r' | sed -n 's/^\* SEARCH \([0-9]*\).*/\1/p')
  [ -n "$uid" ] && break
  sleep 0.2
done
[ -n "$uid" ] || { echo "demo: the message $dnt_id did not reach José's INBOX" >&2; exit 1; }
header=$(as_user jmuller@forest-a.test --cacert "$CA" "imaps://127.0.0.1:9931/INBOX;UID=$uid;SECTION=HEADER" | tr -d '\r')
printf '%s\n' "$header" | grep -E '^(Message-ID|From|To|Subject|Disposition-Notification-To):' | sed 's/^/  < /'
if printf '%s\n' "$header" | grep -qi '^Disposition-Notification-To:'; then
  echo "demo: the read-receipt request was delivered" >&2
  exit 1
fi
echo "  (no Disposition-Notification-To: José's mail client has no read receipt to send)"

step "operator dashboard: the lab operator logs in ($SERVE/dashboard/login) and reads the batches"
jar="$logs/dashboard.cookies"
printf '{"name":"ops","password":%s}' "$(node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(".lab/secrets/dashboard-ops.pw","utf8").split("\n")[0]))')" |
  curl -sS --fail-with-body --cacert "$CA" -c "$jar" -o /dev/null -w '  POST /dashboard/login as ops -> %{http_code}\n' \
    -H 'Content-Type: application/json' --data-binary @- "$SERVE/dashboard/login"
curl -sS --fail-with-body --cacert "$CA" -b "$jar" "$SERVE/dashboard/api/batches" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const b of r) {
    const states = Object.entries(b.byState).map(([s, n]) => `${n} ${s}`).join(", ");
    console.log(`  GET /dashboard/api/batches: batch ${b.name} ${b.status}, ${b.mailboxes} mailboxes (${states}), ${b.copiedMessages}/${b.messages} messages copied`);
  }
'
rm -f "$jar"

step "stopping what the demo started"
stop_background
echo "  serve (pid $serve_pid) and relay (pid $relay_pid) stopped"

step "next"
echo "  the dashboard: ./bin/crossforest.js serve, then open $SERVE/dashboard (or https://localhost:8443/dashboard; CA $CA)"
echo "    operator: ops    password: the first line of .lab/secrets/dashboard-ops.pw (cat .lab/secrets/dashboard-ops.pw)"
echo "  the relay:     ./bin/crossforest.js relay    (listeners: transport.listeners in crossforest.yaml)"
echo "  the audit:     ./bin/crossforest.js audit    (the lab's deliberate weaknesses are reported as failures)"
