#!/usr/bin/env bash
# Chromium and its WebDriver, for tests/test_oauth_browser.py (the /connect page in a real headless browser).
exec bash "$(dirname "$0")/ensure_debian.sh" chromium=chromium /usr/bin/chromedriver=chromium-driver
