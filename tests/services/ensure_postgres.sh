#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl) are installed, from Debian's package when missing.
# Tests start their own throw-away instance with them (tests/postgres_support.py); nothing is started here.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
