#!/usr/bin/env bash
# The PostgreSQL server binaries (initdb, pg_ctl), for the tests that start their own instance (tests/postgres_support.py).
exec bash "$(dirname "$0")/ensure_debian.sh" '/usr/lib/postgresql/*/bin/initdb=postgresql'
