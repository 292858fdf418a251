#!/usr/bin/env bash
# Builds libsrtp2 2.5.0 on OpenSSL (--enable-openssl) from Debian 12's source package and installs
# the static library, headers and pkg-config file into PREFIX. Debian's binary libsrtp2-1 is built
# on NSS, which is ~4x slower for AES-CM and ~250x slower for srtp_create (docs/srtp.md).
#
# Usage: scripts/build-libsrtp.sh PREFIX
#
# The source comes from `apt-get source libsrtp2` through a PRIVATE apt configuration: a deb-src
# copy of the Debian entries in /etc/apt/sources.list.d/debian.sources (same URIs, suites,
# components, Signed-By) with its own lists and cache under the build directory. No system file
# is changed. Idempotent: if PREFIX already holds this build, it prints nothing and exits 0.
# Output goes to PREFIX.build/build.log, shown on failure. Needs dpkg-dev (for dpkg-source), make,
# a C compiler, pkg-config and libssl-dev (scripts/install-deps.sh).
set -euo pipefail

readonly UPSTREAM_VERSION=2.5.0
# Bump when the configure flags or the build recipe change so cached builds are redone.
readonly RECIPE=1
readonly CFLAGS_BUILD="-O2 -fPIC -g"

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
PREFIX=$(cd "$1" && pwd)
BUILD_DIR="${PREFIX}.build"
STAMP="${PREFIX}/.medrelay-libsrtp"
STAMP_TEXT="libsrtp2 ${UPSTREAM_VERSION} openssl recipe=${RECIPE} cflags=${CFLAGS_BUILD}"

complete() {
  [ -f "${STAMP}" ] && [ "$(cat "${STAMP}")" = "${STAMP_TEXT}" ] &&
    [ -f "${PREFIX}/lib/libsrtp2.a" ] && [ -f "${PREFIX}/include/srtp2/srtp.h" ] &&
    [ -f "${PREFIX}/lib/pkgconfig/libsrtp2.pc" ]
}

complete && exit 0

# PREFIX/lib and PREFIX/include are replaced below: only ever in a prefix this script owns
# (marked when it was found empty, so an interrupted build can be redone).
OWNED="${PREFIX}/.medrelay-libsrtp-prefix"
if [ ! -f "${OWNED}" ] && [ ! -f "${STAMP}" ] && [ -n "$(ls -A "${PREFIX}")" ]; then
  echo "build-libsrtp: ${PREFIX} is not empty and was not made by this script" >&2
  exit 1
fi
: >"${OWNED}"

# Several presets may configure at once: one builds, the others wait and then find it complete.
mkdir -p "${BUILD_DIR}"
exec 9>"${BUILD_DIR}/.lock"
flock 9
complete && exit 0

LOG="${BUILD_DIR}/build.log"
: >"${LOG}"
fail() {
  echo "build-libsrtp: $1 (log: ${LOG})" >&2
  tail -n 60 "${LOG}" >&2 || true
  exit 1
}
run() {
  echo "+ $*" >>"${LOG}"
  "$@" >>"${LOG}" 2>&1
}

for tool in apt-get dpkg-source make cc pkg-config flock; do
  command -v "${tool}" >/dev/null || fail "missing ${tool}: run scripts/install-deps.sh"
done
pkg-config --exists libcrypto || fail "libcrypto not found by pkg-config: install libssl-dev"

# --- private apt configuration -----------------------------------------------------------------
APT_DIR="${BUILD_DIR}/apt"
rm -rf "${APT_DIR}"
mkdir -p "${APT_DIR}/lists/partial" "${APT_DIR}/cache/archives/partial" "${APT_DIR}/sources"

# deb822 stanzas of the system's Debian source with `Types:` turned into deb-src. Every other
# field (URIs, Suites, Components, Signed-By, Enabled, multi-line keys) is copied verbatim.
SYSTEM_SOURCES=/etc/apt/sources.list.d/debian.sources
PRIVATE_SOURCES="${APT_DIR}/sources/debian-src.sources"
if [ -f "${SYSTEM_SOURCES}" ]; then
  awk '/^[Tt]ypes:/ { print "Types: deb-src"; next } { print }' "${SYSTEM_SOURCES}" \
    >"${PRIVATE_SOURCES}"
elif [ -f /etc/apt/sources.list ]; then
  # Older layout: one-line entries; keep the Debian ones, turned into deb-src.
  PRIVATE_SOURCES="${APT_DIR}/sources/debian-src.list"
  awk '$1 == "deb" && /debian/ { $1 = "deb-src"; print }' /etc/apt/sources.list \
    >"${PRIVATE_SOURCES}"
fi
[ -s "${PRIVATE_SOURCES}" ] || fail "no Debian apt source found in ${SYSTEM_SOURCES}"

APT_OPTS=(
  -o "Dir::Etc::SourceList=${PRIVATE_SOURCES}"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=${APT_DIR}/lists"
  -o "Dir::Cache=${APT_DIR}/cache"
  -o "Dir::Cache::pkgcache=${APT_DIR}/cache/pkgcache.bin"
  -o "Dir::Cache::srcpkgcache=${APT_DIR}/cache/srcpkgcache.bin"
  -o "APT::Sandbox::User=$(id -un)"
  -o "Acquire::Languages=none"
  -q
)

SRC_DIR="${BUILD_DIR}/src"
rm -rf "${SRC_DIR}"
mkdir -p "${SRC_DIR}"
run apt-get "${APT_OPTS[@]}" update || fail "apt-get update (private deb-src list) failed"
(cd "${SRC_DIR}" && run apt-get "${APT_OPTS[@]}" source libsrtp2) ||
  fail "apt-get source libsrtp2 failed"

shopt -s nullglob
trees=("${SRC_DIR}"/libsrtp2-"${UPSTREAM_VERSION}"/)
shopt -u nullglob
[ ${#trees[@]} -eq 1 ] || fail "expected libsrtp2-${UPSTREAM_VERSION} from apt-get source, got: $(ls "${SRC_DIR}")"
TREE="${trees[0]%/}"

# --- build and install -------------------------------------------------------------------------
cd "${TREE}"
run ./configure --prefix="${PREFIX}" --enable-openssl --disable-log-stdout \
  CFLAGS="${CFLAGS_BUILD}" || fail "configure failed"
grep -q '^#define OPENSSL 1' crypto/include/config.h ||
  fail "configure did not select the OpenSSL backend"
run make -j"$(nproc 2>/dev/null || echo 2)" libsrtp2.a || fail "make failed"
rm -rf "${PREFIX:?}/lib" "${PREFIX:?}/include" "${STAMP}"
run make install || fail "make install failed"
rm -f "${PREFIX}"/lib/libsrtp2.so*
echo "${STAMP_TEXT}" >"${STAMP}"
complete || fail "install is incomplete"

# The apt lists are large and only needed for this fetch.
rm -rf "${APT_DIR}"
