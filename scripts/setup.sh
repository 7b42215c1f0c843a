#!/usr/bin/env bash
# Installs what crossforest, its lab and its tests need on Debian 12: the real servers
# from Debian's packages (apt-get, as root: directly, or through sudo for an ordinary user),
# then the npm packages as the caller (better-sqlite3 is compiled from source, never
# downloaded prebuilt). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/privilege.sh

PACKAGES=(chromium slapd ldap-utils dovecot-core dovecot-imapd dovecot-pop3d dovecot-ldap dovecot-lmtpd isync
          postfix postfix-ldap radicale postgresql openssl ca-certificates curl python3 make g++
          samba samba-ad-dc samba-ad-provision samba-dsdb-modules vdirsyncer)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  # Postfix asks questions at install time; answer them so nothing waits for a terminal.
  printf '%s\n' "postfix postfix/main_mailer_type select No configuration" "slapd slapd/no_configuration boolean true" | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# npm packages: only when the lockfile changed since the last install.
stamp=node_modules/.crossforest-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm packages (better-sqlite3 compiles from source, ~2 min the first time)" >&2
  npm_config_build_from_source=true npm ci --no-audit --no-fund >&2
  touch "$stamp"
fi

# The compiled CLI (scripts/build.sh): about a second, every time, so the bundle always
# matches the checkout (bin/crossforest.js falls back to the sources when it does not).
bash scripts/build.sh
