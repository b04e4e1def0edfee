#!/usr/bin/env bash
# nginx and redis-server, for tests/test_hosted*.py and the deploy kit's local stack.
exec bash "$(dirname "$0")/ensure_debian.sh" /usr/sbin/nginx=nginx redis-server=redis-server
