# Sourced by the scripts: root only where it is needed, sudo only where it is there.
# A fresh Debian logged in as root has no sudo; an ordinary user on a workstation has it.

# as_root CMD…: runs CMD as root — directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "$(basename "$0"): '$1' needs root, and sudo is not installed: run this script as root (or install sudo)" >&2
    return 1
  fi
}

# reexec_as_root "$@": the lab's daemons (Dovecot with the mail uid, Postfix, Samba AD DCs,
# PostgreSQL run as the postgres user) need root, so a script that starts the lab runs as root
# from here on: itself again through sudo, keeping the lab settings of the caller's environment.
reexec_as_root() {
  [ "$(id -u)" = 0 ] && return 0
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$(basename "$0"): the lab's servers need root, and sudo is not installed: run this script as root (or install sudo)" >&2
    exit 1
  fi
  echo "$(basename "$0"): the lab's servers need root: running again through sudo" >&2
  exec sudo --preserve-env=CROSSFOREST_LAB_DIR,CROSSFOREST_CONFIG,KEEP_LAB,PATH bash "$0" "$@"
}
