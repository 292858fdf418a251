#!/usr/bin/env bash
# Builds the consultation web client (web/ -> web/dist/, served by medrelay at /app/).
# Idempotent: `npm ci` only when package.json/package-lock.json changed, `vite build` only when a
# source file changed since the last build. Needs node and npm (Debian's, or any current one).
set -euo pipefail
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "build-web: installing Debian's nodejs and npm" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi
cd "$(dirname "$0")/../web"
lock_stamp=node_modules/.medrelay-lock.sha256
want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$want" ]; then
  echo "build-web: npm install in web (exact versions from package-lock.json)" >&2
  # `npm install` rather than `npm ci`: the registry here serves only this platform's rollup
  # binary, so the lock lists no other platforms' optional packages and `npm ci` refuses it.
  # The versions are pinned exactly in package.json and the lock either way.
  npm install --no-audit --no-fund --no-save --loglevel=error >/dev/null
  echo "$want" > "$lock_stamp"
fi
src="$(find index.html vite.config.js package-lock.json src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ -f dist/index.html ] && [ -f .build-stamp ] && [ "$(cat .build-stamp)" = "$src" ]; then
  exit 0
fi
echo "build-web: vite build" >&2
npx --no-install vite build --logLevel warn
echo "$src" > .build-stamp
