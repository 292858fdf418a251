#!/usr/bin/env bash
# Installs what is missing, builds (Debug, warnings as errors) and runs every test with CTest.
# Usage: scripts/test.sh [preset]   (default preset: debug; also asan-ubsan, tsan, release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-debug}"
scripts/install-deps.sh build test
scripts/install-node-deps.sh
scripts/build-web.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j "$(nproc)" --timeout 600
