#!/usr/bin/env bash
# scripts/check-layering.sh must fail on a forbidden arrow and pass on allowed ones: a scratch
# tree with one file per case. Usage: check_layering_selftest.sh <path to check-layering.sh>
set -euo pipefail
check="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

expect() {  # expect pass|fail <part/file> <include line>
  local want="$1" file="$2" line="$3"
  rm -rf "${tmp:?}"/*
  mkdir -p "$tmp/$(dirname "$file")"
  printf '%s\n' "$line" >"$tmp/$file"
  if "$check" "$tmp" >/dev/null 2>&1; then got=pass; else got=fail; fi
  if [ "$got" != "$want" ]; then
    echo "FAIL: $file with '$line': expected $want, got $got"
    exit 1
  fi
}

expect fail media/room.cpp '#include "control/policy.h"'
expect fail media/forwarding_room.h '#include "server/app.h"'
expect fail media/a.cpp '#include "signalling/whip_endpoint.h"'
expect fail net/turn/a.h '#include "media/router.h"'
expect fail net/a.cpp '  #  include "control/metrics/metrics.h"'
expect fail control/a.cpp '#include "media/router.h"'
expect fail control/a.cpp '#include "server/config.h"'
expect fail common/a.h '#include "net/dispatcher.h"'
expect fail signalling/a.cpp '#include "server/app.h"'
expect fail media/a.h '#include <prometheus/counter.h>'
expect pass media/room.cpp '#include "media/forwarding_rules.h"'
expect pass media/a.cpp '#include "common/counters/media_counters.h"'
expect pass control/a.cpp '#include "net/dispatcher.h"'
expect pass control/a.h '#include <prometheus/counter.h>'
expect pass signalling/a.cpp '#include "control/policy.h"'
expect pass signalling/a.cpp '#include "media/router.h"'
expect pass server/a.cpp '#include "signalling/whip_endpoint.h"'
expect pass control/a.cpp '#include "build_info.h"'
echo "check-layering self-test: ok"
