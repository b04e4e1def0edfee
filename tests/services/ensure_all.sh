#!/usr/bin/env bash
# Everything the test suite starts for real, in one apt-get run (the README's test command calls this).
exec bash "$(dirname "$0")/ensure_debian.sh" /usr/sbin/nginx=nginx redis-server=redis-server \
  '/usr/lib/postgresql/*/bin/initdb=postgresql' chromium=chromium /usr/bin/chromedriver=chromium-driver
