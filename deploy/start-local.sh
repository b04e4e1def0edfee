#!/usr/bin/env bash
# Redis, N civis-mcp replicas and nginx on loopback for local use; see deploy/local_stack.py --help.
#   deploy/start-local.sh --replicas 3 --port 8080 --sandbox
set -euo pipefail
exec python3 "$(dirname "$0")/local_stack.py" "$@"
