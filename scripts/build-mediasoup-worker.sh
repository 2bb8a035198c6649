#!/usr/bin/env bash
# Builds a real mediasoup-worker binary for mediasoup 3.12.16 from the npm tarball against
# Debian bookworm's system libraries (no GitHub, wrapdb or PyPI access needed).
#
# Meson uses worker/subprojects/<directory named in each .wrap> as-is when it exists, so tiny
# "shim" subprojects there expose the Debian libraries (via pkg-config) under the variable
# names mediasoup's worker/meson.build reads. Recipe: ../shared/mediasoup-worker.md.
#
# Usage: bash scripts/build-mediasoup-worker.sh OUT_BINARY [WORK_DIR]
# Env:   JOBS=N  parallel compile jobs (default: nproc)
# Normally called by scripts/ensure-worker.mjs, which caches the result by version.
set -euo pipefail

MS_VERSION=3.12.16
# sha512 of mediasoup-3.12.16.tgz (== registry dist.integrity, hex-encoded)
MS_SHA512=c8b93f3819472aba2c7c505629518ba40439e6db2c43ff7e12d78eaedfc2e71812f0e1cea464c822b3f4fce1637c203f961c40af5c55f2a5135ccdc3ecd1b124

OUT="$(realpath -m "${1:?usage: build-mediasoup-worker.sh OUT_BINARY [WORK_DIR]}")"
WORK="$(realpath -m "${2:-$(mktemp -d -t mediasoup-worker-build.XXXXXX)}")"
JOBS="${JOBS:-$(nproc)}"

T_START=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - T_START ))s] $*"; }

# --- 1. Debian packages ------------------------------------------------------
APT_PKGS=(g++ pkg-config meson ninja-build
  libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev nlohmann-json3-dev)
missing=()
for pkg in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    step "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "mediasoup-watchdog: building the mediasoup worker needs Debian packages that are missing." >&2
    echo "Install them, then run the command again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${APT_PKGS[*]}" >&2
    exit 1
  fi
fi
for tool in node npm meson ninja pkg-config c++; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

# --- 0. work dir -------------------------------------------------------------
mkdir -p "$WORK"
cd "$WORK"
rm -rf src build


# --- 2. mediasoup source from the npm registry -------------------------------
step "npm pack mediasoup@$MS_VERSION"
TGZ=$(npm pack "mediasoup@$MS_VERSION" --pack-destination "$WORK" --silent 2>/dev/null | tail -n1)
echo "$MS_SHA512  $WORK/$TGZ" | sha512sum -c -
mkdir -p src && tar -xzf "$WORK/$TGZ" -C src --strip-components=1
W="$WORK/src/worker"
SP="$W/subprojects"

# --- 3. shim subprojects (directory names must match `directory =` in *.wrap) -
step "writing shim subprojects in $SP"
for wrap in openssl:openssl-3.0.8 nlohmann_json:nlohmann_json-3.10.5 libuv:libuv-v1.44.2 \
            libsrtp2:libsrtp-2.5.0 usrsctp:usrsctp-4e06feb01cadcd127d119486b98a4bd3d64aa1e7 \
            abseil-cpp:abseil-cpp-20220623.0 catch2:Catch2-2.13.7; do
  name=${wrap%%:*}; dir=${wrap#*:}
  grep -qx "directory = $dir" "$SP/$name.wrap" || { echo "unexpected $SP/$name.wrap" >&2; exit 1; }
  mkdir -p "$SP/$dir"
done

# mediasoup reads: openssl_dep, libcrypto_lib, libssl_lib. The *_lib variables
# are only used in link_whole of the (not built by default) libmediasoup-worker
# target; an empty list is flattened away by meson.
cat > "$SP/openssl-3.0.8/meson.build" <<'EOF'
project('openssl', 'c', version: '3.0.8')
openssl_dep = dependency('openssl', version: '>=3.0.0')
libcrypto_dep = dependency('libcrypto', version: '>=3.0.0')
libssl_dep = dependency('libssl', version: '>=3.0.0')
libcrypto_lib = []
libssl_lib = []
EOF

cat > "$SP/nlohmann_json-3.10.5/meson.build" <<'EOF'
project('nlohmann_json', 'cpp', version: '3.10.5')
nlohmann_json_dep = dependency('nlohmann_json', version: '>=3.10.5')
EOF

cat > "$SP/libuv-v1.44.2/meson.build" <<'EOF'
project('libuv', 'c', version: '1.44.2')
libuv_dep = dependency('libuv', version: '>=1.44.2')
libuv = []
EOF
# options that mediasoup passes via default_options must exist in the subproject
cat > "$SP/libuv-v1.44.2/meson_options.txt" <<'EOF'
option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)
EOF

# mediasoup does `#include <srtp.h>`; Debian's libsrtp2.pc only adds -I/usr/include.
# (Debian's libsrtp2 is built against NSS and does support AES-GCM.)
cat > "$SP/libsrtp-2.5.0/meson.build" <<'EOF'
project('libsrtp2', 'c', version: '2.5.0')
_srtp = dependency('libsrtp2', version: '>=2.5.0')
libsrtp2_dep = declare_dependency(
  dependencies: _srtp,
  compile_args: ['-I' + (_srtp.get_variable(pkgconfig: 'includedir') / 'srtp2')],
)
libsrtp2 = []
EOF
cat > "$SP/libsrtp-2.5.0/meson_options.txt" <<'EOF'
option('crypto-library', type: 'combo', choices: ['none', 'openssl', 'nss', 'mbedtls'], value: 'openssl')
option('crypto-library-kdf', type: 'feature', value: 'auto')
option('tests', type: 'feature', value: 'disabled')
EOF

cat > "$SP/usrsctp-4e06feb01cadcd127d119486b98a4bd3d64aa1e7/meson.build" <<'EOF'
project('usrsctp', 'c', version: '0.9.5.0')
usrsctp_dep = dependency('usrsctp', version: '>=0.9.5')
usrsctp = []
EOF
cat > "$SP/usrsctp-4e06feb01cadcd127d119486b98a4bd3d64aa1e7/meson_options.txt" <<'EOF'
option('sctp_build_programs', type: 'boolean', value: false)
EOF

# mediasoup reads absl_container_dep, absl_container_lib (worker) and
# absl_strings_dep, absl_types_dep (deps/libwebrtc). Debian ships per-component
# absl_*.pc files.
cat > "$SP/abseil-cpp-20220623.0/meson.build" <<'EOF'
project('abseil-cpp', 'cpp', version: '20220623.0')
_v = '>=20220623'
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_btree', version: _v),
  dependency('absl_flat_hash_map', version: _v),
  dependency('absl_flat_hash_set', version: _v),
  dependency('absl_node_hash_map', version: _v),
  dependency('absl_node_hash_set', version: _v),
  dependency('absl_inlined_vector', version: _v),
  dependency('absl_fixed_array', version: _v),
  dependency('absl_memory', version: _v),
])
absl_strings_dep = declare_dependency(dependencies: [
  dependency('absl_strings', version: _v),
  dependency('absl_str_format', version: _v),
])
absl_types_dep = declare_dependency(dependencies: [
  dependency('absl_optional', version: _v),
  dependency('absl_variant', version: _v),
  dependency('absl_span', version: _v),
  dependency('absl_any', version: _v),
])
absl_container_lib = []
EOF

# subproject('catch2') is called unconditionally; only mediasoup-worker-test
# uses catch2_dep. Debian's `catch2` package (2.13.10) provides it if installed.
cat > "$SP/Catch2-2.13.7/meson.build" <<'EOF'
project('catch2', 'cpp', version: '2.13.7')
catch2_dep = dependency('catch2', version: ['>=2.13', '<3'], required: false)
EOF

# mediasoup 3.12.16 declares meson_version >= 1.1.0; bookworm has meson 1.0.1,
# which configures and builds this tree fine.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$W/meson.build"

# --- 4. configure + build (same flags as mediasoup's Makefile Release build) --
step "meson setup (meson $(meson --version), wrap-mode=nodownload)"
meson setup "$WORK/build" "$W" \
  --buildtype release -Db_ndebug=true -Db_pie=true -Db_staticpic=true \
  --wrap-mode=nodownload

step "ninja mediasoup-worker (-j$JOBS)"
T_BUILD=$(date +%s)
ninja -C "$WORK/build" -j "$JOBS" mediasoup-worker
BUILD_S=$(( $(date +%s) - T_BUILD ))


BIN="$WORK/build/mediasoup-worker"
# Same sanity check mediasoup's postinstall does for prebuilt binaries: run it
# without MEDIASOUP_VERSION in the env and expect exit code 41.
set +e; env -i "$BIN" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 41 ] || { echo "mediasoup-worker sanity check failed (exit $rc, expected 41)" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
cp "$BIN" "$OUT.tmp.$$" && mv -f "$OUT.tmp.$$" "$OUT"
rm -rf "$WORK"
step "done: $OUT ($(stat -c %s "$OUT") bytes, ninja ${BUILD_S}s)"
