#!/usr/bin/env bash
# Installs the npm packages the e2e tests use (tests/e2e/package.json, exact versions from
# package-lock.json) into tests/e2e/node_modules, idempotently: does nothing when the installed
# tree matches the lock file. Never runs `npx playwright install` (Chromium comes from Debian).
set -euo pipefail
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-node-deps: installing Debian's nodejs and npm" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi
cd "$(dirname "$0")/../tests/e2e"
stamp=node_modules/.medrelay-lock.sha256
want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "install-node-deps: npm ci in tests/e2e" >&2
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" > "$stamp"
