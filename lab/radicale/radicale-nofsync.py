# Starts Debian's Radicale 3.1 (`radicale --config FILE`, same arguments) with its internal
# storage option `_filesystem_fsync` off: Radicale refuses internal options in a config
# file or on the command line, and with fsync every PUT and every first read of an item
# (which writes the item cache) waits for the disk, twice as slow on the lab's machines.
# Lab data is disposable (slapd runs with dbnosync, PostgreSQL with fsync off likewise).
# Written by crossforest lab (lab/radicale/radicale.ts); if the patch does not apply to
# another Radicale version, Radicale runs unpatched.
import sys

import radicale.config as config

_load = config.load


def _load_without_fsync(paths=None):
    configuration = _load(paths)
    try:
        configuration.update({"storage": {"_filesystem_fsync": "False"}}, "crossforest lab: no fsync", privileged=True)
    except Exception as e:  # noqa: BLE001 - run unpatched rather than not at all
        print("crossforest lab: could not turn off Radicale's fsync: %s" % e, file=sys.stderr)
    return configuration


config.load = _load_without_fsync

from radicale.__main__ import run  # noqa: E402

sys.argv[0] = "radicale"
run()
