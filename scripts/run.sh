#!/usr/bin/env bash
# Installs what is missing, builds the Release binary and starts the relay on its embedded
# defaults (loopback only). Extra arguments go to medrelay, e.g. --config configs/medrelay.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build-web.sh
cmake --preset release -DMEDRELAY_BUILD_TESTS=OFF -DMEDRELAY_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release --target medrelay
exec build/release/medrelay "$@"
