#!/usr/bin/env bash
# Install, in one apt-get run, the Debian packages whose programs are missing. Each argument is PROGRAM=PACKAGE:
# PROGRAM is a command name, or an absolute path (a glob is allowed, e.g. /usr/lib/postgresql/*/bin/initdb).
# Nothing is started here: the tests start their own instances on free loopback ports.
set -euo pipefail
missing=()
for pair in "$@"; do
  program=${pair%%=*}
  package=${pair#*=}
  if [[ $program == /* ]]; then
    compgen -G "$program" >/dev/null && continue
  else
    command -v "$program" >/dev/null 2>&1 && continue
  fi
  missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
echo "+ installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
