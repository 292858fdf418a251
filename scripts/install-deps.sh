#!/usr/bin/env bash
# Installs the Debian 12 packages medrelay needs, idempotently. Prints nothing and touches
# nothing when everything is already present. Usage: scripts/install-deps.sh [build|test|bench]...
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config ccache clang lld libclang-rt-14-dev
  libuv1-dev libssl-dev openssl libusrsctp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  node-llhttp nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libsqlite3-dev sqlite3
  libcurl4-openssl-dev
  libhiredis-dev googletest libgtest-dev libgmock-dev libbenchmark-dev
  dpkg-dev autoconf automake libtool
)
# Real peers and tools the test suite drives.
test_pkgs=(
  curl procps iproute2 python3 python3-aiortc chromium
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice prometheus
  coturn fonts-noto-cjk nftables redis-server
)

# Benchmark report (bench/run): coturn as the TURN peer, gnuplot for the plots.
bench_pkgs=(coturn gnuplot-nox python3 procps iproute2)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)

wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build_pkgs[@]}") ;;
    test) wanted+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) wanted+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "install-deps: unknown group '$g' (build|test|bench)" >&2; exit 2 ;;
  esac
done

missing=()
mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sort -u)
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
