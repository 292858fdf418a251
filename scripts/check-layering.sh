#!/usr/bin/env bash
# The parts and their allowed arrows (docs/architecture.md, "Parts and layering"):
#
#   common  <-  net  <-  media  <-  signalling  <-  server
#                 ^                     |
#                 +------ control <-----+
#
#   common      includes only common
#   net         common, net
#   media       common, net, media
#   control     common, net, control
#   signalling  common, net, media, control, signalling
#   server      anything
#
# Fails (exit 1) on every `#include "part/..."` in a part's sources that the table does not
# allow, and on any prometheus header on the packet path (common, net, media): those count into
# common/counters/ and control/metrics renders them. Run by the CTest test lint.layering and by
# the build (target layering-check, which every medrelay library depends on).
# Usage: scripts/check-layering.sh [source-root]   (default: this script's repository)
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"

declare -A allowed=(
  [common]="common"
  [net]="common net"
  [media]="common net media"
  [control]="common net control"
  [signalling]="common net media control signalling"
  [server]="common net media control signalling server"
)
parts="common net media control signalling server"
no_prometheus="common net media"

status=0
for part in $parts; do
  [ -d "$part" ] || continue
  # file:line:#include "dir/..." for every quoted include naming a directory; awk keeps those
  # whose directory is one of our parts and not allowed for this one.
  hits="$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^/"]+/' "$part" \
            --include='*.h' --include='*.cpp' |
          awk -v part="$part" -v parts="$parts" -v allowed="${allowed[$part]}" '
            BEGIN { n = split(parts, p, " "); for (i = 1; i <= n; ++i) ours[p[i]] = 1
                    n = split(allowed, a, " "); for (i = 1; i <= n; ++i) ok[a[i]] = 1 }
            {
              split($0, f, ":"); text = substr($0, length(f[1]) + length(f[2]) + 3)
              target = text; sub(/^[^"]*"/, "", target); sub(/\/.*/, "", target)
              if ((target in ours) && !(target in ok)) {
                sub(/^[[:space:]]+/, "", text)
                printf "%s:%s: forbidden include %s -> %s: %s\n", f[1], f[2], part, target, text
              }
            }' || true)"
  if [ -n "$hits" ]; then
    echo "$hits"
    status=1
  fi
done

for part in $no_prometheus; do
  [ -d "$part" ] || continue
  while IFS= read -r hit; do
    echo "$hit: forbidden include: no prometheus header on the packet path ($part)"
    status=1
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<prometheus/' "$part" \
             --include='*.h' --include='*.cpp' || true)
done

if [ "$status" -ne 0 ]; then
  echo "check-layering: forbidden include(s); see docs/architecture.md for the allowed arrows" >&2
fi
exit "$status"
