#!/usr/bin/env bash
# build-mediasoup-worker-3.27.sh - build a real mediasoup-worker binary for
# mediasoup 3.27.1 (newest on npm; has the worker-side ICE consent check,
# `iceConsentTimeout`, added in 3.13.20) on Debian 12 (bookworm), using ONLY:
#   * the npm registry      (mediasoup source tarball; smoke test package)
#   * Debian's mirror (apt) (bookworm packages installed normally; trixie/sid
#                            lists read into a PRIVATE apt state under WORK_DIR,
#                            nothing from them is installed into the system)
# Nothing else is fetched from anywhere.
#
# How (same idea as the verified 3.12.16 recipe): mediasoup's worker/meson.build
# calls subproject('openssl'|'libuv'|'libsrtp3'|'flatbuffers'|'abseil-cpp') and
# dependency('unordered_dense'); meson uses worker/subprojects/<directory named in
# each .wrap> as-is when that directory exists, so we put tiny "shim" projects
# there and build with --wrap-mode=nodownload.  Where each dependency comes from:
#   openssl 3.0.8 wrap     -> bookworm libssl-dev 3.0.x           (shared, system)
#   libuv 1.51.0 wrap      -> bookworm libuv1-dev 1.44.2          (shared, system)
#   abseil 20240722 wrap   -> bookworm libabsl-dev 20220623       (shared, system)
#   libsrtp3 (versatica's 3.0.0-beta fork; no Debian package anywhere)
#                          -> bookworm libsrtp2-dev 2.5.0 + a ~150-line C++ header
#                             (written below) that implements the libsrtp 3 API
#                             subset mediasoup 3.27.1 calls on top of libsrtp 2.
#                             Same SRTP wire format; no MKI, no cryptex (mediasoup
#                             uses neither).
#   flatbuffers 24.3.25    -> trixie SOURCE package flatbuffers 23.5.26, built here
#                             (flatc + headers + static lib; the generated headers
#                             and the runtime headers come from the same version).
#   unordered_dense 4.8.1  -> the header-only library (v4.4.0, MIT) as shipped
#                             inside sid's libtulip-dev .deb (unpacked only; no
#                             Debian package ships it under its own name).
#   meson >= 1.1.0         -> trixie's meson 1.7.0 (Architecture: all, pure python)
#                             unpacked into WORK_DIR and run with bookworm's python3.
# The binary links dynamically against bookworm's libssl3, libuv1, libsrtp2-1,
# libabsl20220623 and libstdc++ only (checked with ldd below).
#
# Usage:   bash build-mediasoup-worker-3.27.sh OUT_BIN [WORK_DIR]
#            OUT_BIN   where the binary goes (e.g. ./mediasoup-worker-3.27.1)
#            WORK_DIR  scratch + download cache (default: OUT_BIN's dir/.ms-worker-build-3.27.1)
# Env:     JOBS=N          parallel compile jobs (default: nproc)
#          SKIP_APT=1      do not apt-get install bookworm packages (already there)
#          RUN_SMOKE=0     skip the Node smoke test (default 1: ICE/DTLS/consent test)
#          FORCE=1         rebuild even if OUT_BIN is already up to date
#          DEBIAN_MIRROR   default: the Debian mirror this machine's apt already uses
#          STOP_AFTER=downloads|configure   stop early (for debugging)
#          UNORDERED_DENSE=std   use the std::unordered_map stand-in instead of the
#                          header from sid's libtulip-dev (automatic if that fails)
# Idempotent: downloads and the flatbuffers build are cached in WORK_DIR/cache;
# a re-run with an up-to-date OUT_BIN (stamp + sanity check) does nothing.
# Runtime: export MEDIASOUP_WORKER_BIN=OUT_BIN and install the node package with
#            npm install --ignore-scripts mediasoup@3.27.1
#          (or MEDIASOUP_WORKER_BIN=... npm install mediasoup@3.27.1: postinstall skips).
set -euo pipefail

MS_VERSION=3.27.1
# npm registry dist.integrity of mediasoup-3.27.1.tgz
MS_INTEGRITY=sha512-unjG0ihJFZmCXxtS5ay6iPp+ov1Rg/BhJuP1gGfw4ElX/K5Z0it3PCC7rKecWMK2FgbQ52kKmDgZBPm/ewYO6A==
FB_VERSION=23.5.26
# sha256 of flatbuffers_23.5.26+dfsg.orig.tar.xz (Debian trixie; also apt-verified)
FB_ORIG_SHA256=0d309fd2c47bbbebd450e68d1419c336d53d1b8f5ce47e1f1f7f28f452fc6f3b
RECIPE_REV=2   # bump when this script's build inputs change (invalidates the stamp)

[ $# -ge 1 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; }
OUT_BIN="$(realpath -m "$1")"
WORK="$(realpath -m "${2:-$(dirname "$OUT_BIN")/.ms-worker-build-$MS_VERSION}")"
JOBS="${JOBS:-$(nproc)}"
RUN_SMOKE="${RUN_SMOKE:-1}"
# The Debian mirror apt is configured with here (first non-security URI of the system sources).
system_mirror() {
  local u
  u=$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n1)
  [[ -n "$u" ]] || u=$(grep -hsE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' | grep -v -- '-security' | head -n1)
  echo "${u%/}"
}
MIRROR="${DEBIAN_MIRROR:-$(system_mirror)}"
[[ -n "$MIRROR" ]] || { echo "no Debian mirror found in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }
T_START=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - T_START ))s] $*"; }
die() { echo "ERROR: $*" >&2; exit 1; }
STAMP="mediasoup-worker $MS_VERSION recipe-rev $RECIPE_REV unordered_dense ${UNORDERED_DENSE:-auto}"

# --- 0. up to date? ------------------------------------------------------------
sanity() { # mediasoup's own check for worker binaries: no MEDIASOUP_VERSION env -> exit 41
  local rc; set +e; env -i "$1" >/dev/null 2>&1; rc=$?; set -e; [ "$rc" = 41 ]; }
if [ "${FORCE:-0}" != 1 ] && [ -x "$OUT_BIN" ] && [ -f "$OUT_BIN.stamp" ] \
   && [ "$(cat "$OUT_BIN.stamp")" = "$STAMP" ] && sanity "$OUT_BIN" \
   && ! ldd "$OUT_BIN" | grep -q 'not found'; then
  echo "up to date: $OUT_BIN ($STAMP); FORCE=1 to rebuild"
  exit 0
fi

# --- 1. work dir (only ever wipe what this script created) ---------------------
if [ -e "$WORK" ] && [ ! -f "$WORK/.ms-worker-build" ] && [ -n "$(ls -A "$WORK")" ]; then
  die "refusing to use non-empty $WORK (not created by this script)"
fi
mkdir -p "$WORK/cache" && touch "$WORK/.ms-worker-build"
rm -rf "$WORK/src" "$WORK/build" "$WORK/app"
CACHE="$WORK/cache"

# --- 2. bookworm packages ----------------------------------------------------------
APT_PKGS=(g++ pkg-config ninja-build cmake python3 xz-utils debian-archive-keyring
  libssl-dev libuv1-dev libsrtp2-dev libabsl-dev)
[ "$RUN_SMOKE" = 1 ] && APT_PKGS+=(openssl)
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ "${SKIP_APT:-0}" != 1 ]; then
  step "apt-get install (bookworm) ${APT_PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${APT_PKGS[@]}"
fi
for tool in node npm ninja pkg-config c++ cmake dpkg-deb /usr/bin/python3; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done
grep -q '^VERSION_CODENAME=bookworm' /etc/os-release || echo "WARNING: not Debian bookworm; untested"

# --- 3. private apt state for trixie (source + all-arch) and sid (one header) ----
# Nothing here touches /etc/apt or /var/lib/apt; apt verifies every file
# against the signed Release files (debian-archive-keyring).
APTD="$CACHE/apt"
mkdir -p "$APTD/lists/partial" "$APTD/archives/partial"
KR=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$APTD/sources.list" <<EOF
deb [signed-by=$KR] $MIRROR trixie main
deb-src [signed-by=$KR] $MIRROR trixie main
deb [signed-by=$KR] $MIRROR sid main
EOF
APT_OPTS=(-o "Dir::Etc::sourcelist=$APTD/sources.list" -o Dir::Etc::sourceparts=/dev/null
  -o "Dir::State::Lists=$APTD/lists" -o "Dir::Cache=$APTD" -o "Dir::Cache::archives=$APTD/archives"
  -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
if [ ! -f "$APTD/.updated" ] || [ -n "$(find "$APTD/.updated" -mmin +1440)" ]; then
  step "apt-get update (private trixie+sid lists in $APTD)"
  apt-get "${APT_OPTS[@]}" update -q
  touch "$APTD/.updated"
fi

# --- 4. downloads ------------------------------------------------------------------
step "downloads (npm: mediasoup@$MS_VERSION; trixie: meson, flatbuffers source; sid: libtulip-dev)"
DL="$CACHE/dl"; mkdir -p "$DL"; cd "$DL"
MS_TGZ="$DL/mediasoup-$MS_VERSION.tgz"
if [ ! -f "$MS_TGZ" ]; then
  npm pack "mediasoup@$MS_VERSION" --pack-destination "$DL" --silent >/dev/null
fi
HAVE_SRI="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$MS_TGZ")"
[ "$HAVE_SRI" = "$MS_INTEGRITY" ] || { rm -f "$MS_TGZ"; die "mediasoup tarball integrity mismatch: $HAVE_SRI"; }
echo "mediasoup-$MS_VERSION.tgz integrity OK ($MS_INTEGRITY)"

# meson (trixie, arch all) -> unpacked, run with bookworm's python3
if [ ! -f "$CACHE/meson/meson.py" ]; then
  rm -f "$DL"/meson_*.deb
  apt-get "${APT_OPTS[@]}" download meson/trixie
  rm -rf "$CACHE/meson" && mkdir -p "$CACHE/meson"
  dpkg-deb -x "$DL"/meson_*_all.deb "$CACHE/meson/root"
  # A meson.py next to the mesonbuild package: meson then finds its own
  # package (and re-invokes itself for regeneration) without PYTHONPATH.
  cat > "$CACHE/meson/root/usr/lib/python3/dist-packages/meson.py" <<'EOF'
import sys
from mesonbuild.mesonmain import main
sys.exit(main())
EOF
  ln -sf root/usr/lib/python3/dist-packages/meson.py "$CACHE/meson/meson.py"
fi
MESON=(/usr/bin/python3 "$CACHE/meson/root/usr/lib/python3/dist-packages/meson.py")
echo "meson $("${MESON[@]}" --version) (from $(basename "$(ls "$DL"/meson_*_all.deb 2>/dev/null || echo cached)"))"

# unordered_dense header: sid's libtulip-dev ships an unmodified copy (v4.4.0).
# If that package cannot be had (sid changes), or UNORDERED_DENSE=std, fall back
# to a small stand-in built on std::unordered_map/set (written in step 6).
UD_H="$CACHE/unordered_dense/ankerl/unordered_dense.h"
UD_MODE="${UNORDERED_DENSE:-auto}"
if [ "$UD_MODE" != std ] && [ ! -f "$UD_H" ]; then
  rm -f "$DL"/libtulip-dev_*.deb
  if apt-get "${APT_OPTS[@]}" download libtulip-dev/sid; then
    rm -rf "$DL/tulip-x" && dpkg-deb -x "$DL"/libtulip-dev_*.deb "$DL/tulip-x"
    src_h="$DL/tulip-x/usr/include/tulip/unordered_dense.h"
    if grep -q '^namespace ankerl::unordered_dense' "$src_h" \
       && grep -q '#define ANKERL_UNORDERED_DENSE_VERSION_MAJOR 4 ' "$src_h"; then
      mkdir -p "$(dirname "$UD_H")" && cp "$src_h" "$UD_H"
    else
      echo "WARNING: unexpected unordered_dense.h in libtulip-dev"
    fi
    rm -rf "$DL/tulip-x"
  else
    echo "WARNING: libtulip-dev (sid) not downloadable"
  fi
fi
if [ "$UD_MODE" = std ] || [ ! -f "$UD_H" ]; then
  UD_MODE=std; echo "unordered_dense: using the std::unordered_map/set stand-in"
else
  UD_MODE=ankerl; echo "unordered_dense $(grep -oE 'Version [0-9.]+' "$UD_H" | head -1) (from sid libtulip-dev)"
fi

[ "${STOP_AFTER:-}" = downloads ] && { echo "STOP_AFTER=downloads"; exit 0; }

# --- 5. flatbuffers 23.5.26 from trixie's source package (built once, cached) ----
FB_PREFIX="$CACHE/flatbuffers-$FB_VERSION"
if [ ! -x "$FB_PREFIX/bin/flatc" ] || [ ! -f "$FB_PREFIX/lib/libflatbuffers.a" ]; then
  mkdir -p "$DL/fbsrc" && cd "$DL/fbsrc"
  ORIG="flatbuffers_${FB_VERSION}+dfsg.orig.tar.xz"
  [ -f "$ORIG" ] || apt-get "${APT_OPTS[@]}" source --download-only "flatbuffers/trixie"
  echo "$FB_ORIG_SHA256  $ORIG" | sha256sum -c -
  rm -rf src && mkdir src && tar -xJf "$ORIG" -C src --strip-components=1
  step "build flatbuffers $FB_VERSION (flatc + static lib, -j$JOBS)"
  T_FB=$(date +%s)
  cmake -S src -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DFLATBUFFERS_BUILD_TESTS=OFF \
    -DFLATBUFFERS_BUILD_FLATHASH=OFF -DFLATBUFFERS_BUILD_SHAREDLIB=OFF \
    -DCMAKE_INSTALL_PREFIX="$FB_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
  ninja -C build -j "$JOBS" install >/dev/null
  echo "flatbuffers built in $(( $(date +%s) - T_FB ))s"
  rm -rf src build
  cd "$DL"
fi
"$FB_PREFIX/bin/flatc" --version

# --- 6. mediasoup source + shim subprojects ----------------------------------------
step "unpack mediasoup $MS_VERSION and write shim subprojects"
mkdir -p "$WORK/src" && tar -xzf "$MS_TGZ" -C "$WORK/src" --strip-components=1
W="$WORK/src/worker"; SP="$W/subprojects"
wrapdir() { # directory named in a .wrap (must match the expected one)
  local d; d=$(sed -n 's/^directory = //p' "$SP/$1.wrap")
  [ "$d" = "$2" ] || die "$SP/$1.wrap: directory is '$d', expected '$2' (different mediasoup version?)"
  mkdir -p "$SP/$d"; echo "$SP/$d"; }

D=$(wrapdir openssl openssl-3.0.8)
cat > "$D/meson.build" <<'EOF'
project('openssl', 'c', version: '3.0.8')
# Debian bookworm's OpenSSL 3.0.x. *_lib are only used in link_whole of the
# (not built) libmediasoup-worker target; [] is flattened away.
openssl_dep = dependency('openssl', version: '>=3.0.0')
libcrypto_dep = dependency('libcrypto', version: '>=3.0.0')
libssl_dep = dependency('libssl', version: '>=3.0.0')
libcrypto_lib = []
libssl_lib = []
EOF

D=$(wrapdir libuv libuv-v1.51.0)
cat > "$D/meson.build" <<'EOF'
project('libuv', 'c', version: '1.51.0')
# Debian bookworm's libuv 1.44.2 has every uv_* API mediasoup 3.27.1 uses.
libuv_dep = dependency('libuv', version: '>=1.44.2')
libuv = []
EOF
cat > "$D/meson_options.txt" <<'EOF'
option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)
EOF

D=$(wrapdir abseil-cpp abseil-cpp-20240722.0)
cat > "$D/meson.build" <<'EOF'
project('abseil-cpp', 'cpp', version: '20240722.0')
# Debian bookworm's abseil 20220623 (per-component absl_*.pc). deps/libwebrtc
# only uses absl::optional / nullopt / string_view / make_unique.
_v = '>=20220623'
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_btree', version: _v),
  dependency('absl_flat_hash_map', version: _v),
  dependency('absl_flat_hash_set', version: _v),
  dependency('absl_inlined_vector', version: _v),
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
])
absl_container_lib = []
EOF

D=$(wrapdir flatbuffers flatbuffers-24.3.25)
cat > "$D/meson.build" <<EOF
project('flatbuffers', 'cpp', version: '$FB_VERSION')
# flatbuffers $FB_VERSION built by this script from Debian trixie's source
# package. mediasoup runs flatc via find_program('flatc') (set in the native
# file), so the generated headers match these runtime headers exactly.
flatbuffers_dep = declare_dependency(
  compile_args: ['-isystem', '$FB_PREFIX/include'],
  link_args: ['$FB_PREFIX/lib/libflatbuffers.a'],
)
flatbuffers_lib = []
EOF

D=$(wrapdir unordered-dense unordered_dense-4.8.1)
cp "$SP/packagefiles/ankerl-unordered-dense/meson.build" "$D/meson.build"
mkdir -p "$D/include/ankerl"
if [ "$UD_MODE" = ankerl ]; then
  cp "$UD_H" "$D/include/ankerl/unordered_dense.h"
else
  cat > "$D/include/ankerl/unordered_dense.h" <<'EOF'
// Stand-in for ankerl::unordered_dense (map, set, hash) on top of the standard
// unordered containers: only the API mediasoup 3.27.1 uses. Same semantics
// except iteration order and performance.
#ifndef ANKERL_UNORDERED_DENSE_H
#define ANKERL_UNORDERED_DENSE_H
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
namespace ankerl::unordered_dense {
namespace detail {
inline std::uint64_t mix(std::uint64_t x) noexcept { // splitmix64 finalizer
	x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL; x ^= x >> 27; x *= 0x94d049bb133111ebULL; return x ^ (x >> 31);
}
} // namespace detail
template <class T, class Enable = void>
struct hash {
	using is_avalanching = void;
	std::size_t operator()(const T& v) const noexcept(noexcept(std::hash<T>{}(v))) {
		return static_cast<std::size_t>(detail::mix(static_cast<std::uint64_t>(std::hash<T>{}(v))));
	}
};
template <class Key, class T, class Hash = hash<Key>, class KeyEqual = std::equal_to<Key>>
using map = std::unordered_map<Key, T, Hash, KeyEqual>;
template <class Key, class Hash = hash<Key>, class KeyEqual = std::equal_to<Key>>
using set = std::unordered_set<Key, Hash, KeyEqual>;
} // namespace ankerl::unordered_dense
#endif
EOF
fi

D=$(wrapdir libsrtp3 libsrtp-3.0.0-beta-2fc078db)
cat > "$D/meson_options.txt" <<'EOF'
option('crypto-library', type: 'combo', choices: ['none', 'openssl', 'nss', 'mbedtls'], value: 'openssl')
option('crypto-library-kdf', type: 'feature', value: 'auto')
option('tests', type: 'feature', value: 'disabled')
EOF
cat > "$D/meson.build" <<'EOF'
project('libsrtp3', 'c', 'cpp', version: '3.0.0-compat')
# libsrtp 3 API (as used by mediasoup 3.27.1) on top of Debian's libsrtp 2.
# include/srtp.h is a C++-only adapter (see its header comment).
_srtp2 = dependency('libsrtp2', version: '>=2.5.0')
_cpp = meson.get_compiler('cpp')
_args = []
foreach e : ['srtp_err_status_buffer_small', 'srtp_err_status_cryptex_err']
  if _cpp.compiles('#include <srtp2/srtp.h>\nint x = (int)' + e + ';', dependencies: _srtp2, name: e)
    _args += '-DMS_SRTP2_HAS_' + e.to_upper()
  endif
endforeach
libsrtp3_dep = declare_dependency(
  dependencies: _srtp2,
  include_directories: include_directories('include'),
  compile_args: _args,
)
libsrtp3 = []
EOF
mkdir -p "$D/include"
cat > "$D/include/srtp.h" <<'EOF'
// srtp.h - the subset of the libsrtp 3 API that mediasoup >= 3.24 calls,
// implemented as C++ inline overloads on top of libsrtp 2 (<srtp2/srtp.h>).
//
// libsrtp 3 changed the API, not the SRTP wire format: lengths are size_t,
// protect/unprotect take separate in/out buffers, the policy is an opaque
// object built with srtp_policy_*() calls, srtp_remove_stream() became
// srtp_stream_remove(). Everything below maps those calls onto libsrtp 2's
// in-place, int-length functions. Not supported (mediasoup uses neither):
// MKI (mki must be NULL/0, mki_index 0) and cryptex.
#ifndef MS_SRTP3_ON_SRTP2_H
#define MS_SRTP3_ON_SRTP2_H

#ifndef __cplusplus
#error "this libsrtp 3 compatibility header is C++ only"
#endif

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

// libsrtp 2's struct typedef is called srtp_policy_t too; rename it while
// including (a typedef name is not part of any symbol, so linking is
// unaffected) and give the name to libsrtp 3's opaque policy pointer.
#define srtp_policy_t ms_srtp2_policy_t
#include <srtp2/srtp.h>
#undef srtp_policy_t

// Status codes libsrtp 3 added (same values as in libsrtp 3's srtp.h).
#ifndef MS_SRTP2_HAS_SRTP_ERR_STATUS_BUFFER_SMALL
inline constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
#endif
#ifndef MS_SRTP2_HAS_SRTP_ERR_STATUS_CRYPTEX_ERR
inline constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(29);
#endif

struct ms_srtp3_policy
{
	ms_srtp2_policy_t p;                 // zero-initialised by value-init
	unsigned char key[SRTP_MAX_KEY_LEN]; // master key || master salt
	size_t keyLen;
	bool profileSet;
};
typedef ms_srtp3_policy* srtp_policy_t;

inline srtp_err_status_t srtp_policy_create(srtp_policy_t* policy)
{
	if (!policy)
		return srtp_err_status_bad_param;
	*policy = new (std::nothrow) ms_srtp3_policy();
	return *policy ? srtp_err_status_ok : srtp_err_status_alloc_fail;
}

inline void srtp_policy_destroy(srtp_policy_t policy)
{
	if (!policy)
		return;
	volatile unsigned char* k = policy->key;
	for (size_t i = 0; i < sizeof(policy->key); ++i)
		k[i] = 0;
	delete policy;
}

inline srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
	if (!policy)
		return srtp_err_status_bad_param;
	policy->p.ssrc = ssrc;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
	if (!policy)
		return srtp_err_status_bad_param;
	// For srtp_profile_aes128_cm_sha1_32 libsrtp 2 uses an 80-bit tag for
	// SRTCP (RFC 3711 / RFC 5764), as libsrtp 3 and older mediasoup do.
	srtp_err_status_t err = srtp_crypto_policy_set_from_profile_for_rtp(&policy->p.rtp, profile);
	if (err != srtp_err_status_ok)
		return err;
	err = srtp_crypto_policy_set_from_profile_for_rtcp(&policy->p.rtcp, profile);
	if (err != srtp_err_status_ok)
		return err;
	policy->profileSet = true;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_add_key(
  srtp_policy_t policy,
  const uint8_t* key,
  size_t key_len,
  const uint8_t* salt,
  size_t salt_len,
  const uint8_t* mki,
  size_t mki_len)
{
	if (!policy || !key || (salt_len && !salt))
		return srtp_err_status_bad_param;
	if (mki || mki_len)
		return srtp_err_status_bad_param; // MKI: not supported by this adapter
	if (policy->keyLen != 0 || key_len + salt_len > sizeof(policy->key))
		return srtp_err_status_bad_param;
	std::memcpy(policy->key, key, key_len);
	if (salt_len)
		std::memcpy(policy->key + key_len, salt, salt_len);
	policy->keyLen = key_len + salt_len;
	policy->p.key  = policy->key;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
	if (!policy)
		return srtp_err_status_bad_param;
	policy->p.allow_repeat_tx = allow ? 1 : 0;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t window_size)
{
	if (!policy || window_size > 0x7fff)
		return srtp_err_status_bad_param;
	policy->p.window_size = static_cast<unsigned long>(window_size);
	return srtp_err_status_ok;
}

// Overload of libsrtp 2's srtp_create(srtp_t*, const ms_srtp2_policy_t*).
inline srtp_err_status_t srtp_create(srtp_t* session, srtp_policy_t policy)
{
	if (!session || !policy || !policy->profileSet || !policy->p.key)
		return srtp_err_status_bad_param;
	// libsrtp 2 reads cipher_key_len bytes (key || salt) from policy.key.
	if (policy->keyLen != static_cast<size_t>(policy->p.rtp.cipher_key_len) ||
	    policy->keyLen != static_cast<size_t>(policy->p.rtcp.cipher_key_len))
		return srtp_err_status_bad_param;
	policy->p.next = nullptr;
	return srtp_create(session, &policy->p);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

namespace ms_srtp3_compat
{
	// libsrtp 2 works in place and may write up to SRTP_MAX_TRAILER_LEN bytes
	// after the packet, so the output buffer must have that much room.
	inline srtp_err_status_t Prepare(
	  const uint8_t* in, size_t inLen, uint8_t* out, size_t outCap, size_t extra, int* len)
	{
		if (!in || !out)
			return srtp_err_status_bad_param;
		if (inLen > static_cast<size_t>(INT_MAX) - SRTP_MAX_TRAILER_LEN)
			return srtp_err_status_bad_param;
		if (outCap < inLen + extra)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);
		*len = static_cast<int>(inLen);
		return srtp_err_status_ok;
	}
} // namespace ms_srtp3_compat

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtp_len, uint8_t* srtp, size_t* srtp_len, size_t mki_index)
{
	int len;
	if (!srtp_len || mki_index != 0)
		return srtp_err_status_bad_param;
	srtp_err_status_t err =
	  ms_srtp3_compat::Prepare(rtp, rtp_len, srtp, *srtp_len, SRTP_MAX_TRAILER_LEN, &len);
	if (err == srtp_err_status_ok)
		err = srtp_protect(ctx, static_cast<void*>(srtp), &len); // libsrtp 2
	if (err == srtp_err_status_ok)
		*srtp_len = static_cast<size_t>(len);
	return err;
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtp_len, uint8_t* rtp, size_t* rtp_len)
{
	int len;
	if (!rtp_len)
		return srtp_err_status_bad_param;
	srtp_err_status_t err = ms_srtp3_compat::Prepare(srtp, srtp_len, rtp, *rtp_len, 0, &len);
	if (err == srtp_err_status_ok)
		err = srtp_unprotect(ctx, static_cast<void*>(rtp), &len); // libsrtp 2
	if (err == srtp_err_status_ok)
		*rtp_len = static_cast<size_t>(len);
	return err;
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcp_len, uint8_t* srtcp, size_t* srtcp_len, size_t mki_index)
{
	int len;
	if (!srtcp_len || mki_index != 0)
		return srtp_err_status_bad_param;
	srtp_err_status_t err =
	  ms_srtp3_compat::Prepare(rtcp, rtcp_len, srtcp, *srtcp_len, SRTP_MAX_TRAILER_LEN, &len);
	if (err == srtp_err_status_ok)
		err = srtp_protect_rtcp(ctx, static_cast<void*>(srtcp), &len); // libsrtp 2
	if (err == srtp_err_status_ok)
		*srtcp_len = static_cast<size_t>(len);
	return err;
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcp_len, uint8_t* rtcp, size_t* rtcp_len)
{
	int len;
	if (!rtcp_len)
		return srtp_err_status_bad_param;
	srtp_err_status_t err = ms_srtp3_compat::Prepare(srtcp, srtcp_len, rtcp, *rtcp_len, 0, &len);
	if (err == srtp_err_status_ok)
		err = srtp_unprotect_rtcp(ctx, static_cast<void*>(rtcp), &len); // libsrtp 2
	if (err == srtp_err_status_ok)
		*rtcp_len = static_cast<size_t>(len);
	return err;
}

#endif
EOF

# --- 6b. small fix in mediasoup's DtlsTransport.cpp ------------------------------
# mediasoup's BIO callback on its outgoing memory BIO returns 1 for every
# post-operation. Debian's libssl is built with kTLS support, so libssl asks that
# BIO BIO_get_ktls_send() (a BIO_ctrl), gets 1, believes kernel TLS offload is on
# and never allocates its DTLS record write buffer: the worker dies with SIGSEGV
# (NULL write in libssl) on the first DTLS handshake. mediasoup's bundled OpenSSL
# is built without kTLS and never asks. Answer "no kTLS" for exactly those two
# queries; everything else is unchanged.
step "patch DtlsTransport.cpp (kTLS query in the BIO callback)"
/usr/bin/python3 - "$W/src/RTC/DtlsTransport.cpp" <<'PYEOF'
import sys
p = sys.argv[1]
s = open(p).read()
a = '  int /*argi*/,\n'
b = '\tconst long resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;\n'
if s.count(a) != 1 or s.count(b) != 1:
    sys.exit('DtlsTransport.cpp: onSslBioOut() is not as expected; patch not applied')
s = s.replace(a, '  int argi,\n')
s = s.replace(b, (
    '\t// [build-mediasoup-worker-3.27.sh] Debian\'s libssl has kTLS support: answering 1\n'
    '\t// to BIO_get_ktls_send() makes it skip allocating its DTLS write buffer.\n'
    '\tif (\n'
    '\t  operationType == (BIO_CB_CTRL | BIO_CB_RETURN) &&\n'
    '\t  (argi == BIO_CTRL_GET_KTLS_SEND || argi == BIO_CTRL_GET_KTLS_RECV))\n'
    '\t{\n'
    '\t\treturn 0;\n'
    '\t}\n\n') + b)
open(p, 'w').write(s)
print('patched', p)
PYEOF

# --- 7. configure + build (flags as mediasoup's own Release build) -----------------
cat > "$WORK/native.ini" <<EOF
[binaries]
flatc = '$FB_PREFIX/bin/flatc'
EOF
step "meson setup (meson $("${MESON[@]}" --version), wrap-mode=nodownload)"
"${MESON[@]}" setup "$WORK/build" "$W" --native-file "$WORK/native.ini" \
  --buildtype release -Db_ndebug=true -Db_pie=true -Db_staticpic=true \
  --wrap-mode=nodownload
[ "${STOP_AFTER:-}" = configure ] && { echo "STOP_AFTER=configure"; exit 0; }

step "ninja mediasoup-worker (-j$JOBS)"
T_BUILD=$(date +%s)
ninja -C "$WORK/build" -j "$JOBS" mediasoup-worker
BUILD_S=$(( $(date +%s) - T_BUILD ))

BIN="$WORK/build/mediasoup-worker"
sanity "$BIN" || die "mediasoup-worker sanity check failed (expected exit 41 without MEDIASOUP_VERSION)"
if ldd "$BIN" | grep 'not found'; then die "unresolved shared libraries"; fi
echo "sanity check OK (exit 41); shared libraries:"; ldd "$BIN" | awk '{print "  " $1}'
mkdir -p "$(dirname "$OUT_BIN")"
cp "$BIN" "$OUT_BIN.tmp" && mv -f "$OUT_BIN.tmp" "$OUT_BIN"
echo "$STAMP" > "$OUT_BIN.stamp"

# --- 8. optional: Node smoke test against the real worker --------------------------
if [ "$RUN_SMOKE" = 1 ]; then
  step "node smoke test (npm install --ignore-scripts mediasoup@$MS_VERSION)"
  mkdir -p "$WORK/app" && cd "$WORK/app"
  echo '{"name":"mediasoup-smoke","version":"1.0.0","private":true}' > package.json
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error "mediasoup@$MS_VERSION"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
    -subj /CN=smoke >/dev/null 2>&1
  cat > smoke.js <<'EOF'
'use strict';
// Smoke test of a locally built mediasoup-worker: ICE (STUN binding) ->
// DTLS via `openssl s_client -dtls1_2` -> getStats/restartIce -> ICE consent
// expiry (iceConsentTimeout) -> close.  Usage: MEDIASOUP_WORKER_BIN=... node smoke.js
const assert = require('assert');
const { execFileSync, spawn } = require('child_process');
const crypto = require('crypto');
const dgram = require('dgram');
const mediasoup = require('mediasoup');
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CRC = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc32 = (b) => { let c = 0xffffffff; for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
function stun({ remoteUfrag, password }) { // STUN Binding request (RFC 5389 / ICE)
  const attrs = [];
  const attr = (t, v) => { const b = Buffer.alloc(4 + v.length + ((4 - (v.length % 4)) % 4)); b.writeUInt16BE(t, 0); b.writeUInt16BE(v.length, 2); v.copy(b, 4); attrs.push(b); };
  attr(0x0006, Buffer.from(`${remoteUfrag}:smoke`));
  const p = Buffer.alloc(4); p.writeUInt32BE(1853824767); attr(0x0024, p);
  attr(0x802a, crypto.randomBytes(8)); attr(0x0025, Buffer.alloc(0));
  const h = Buffer.alloc(20); h.writeUInt16BE(1, 0); h.writeUInt32BE(0x2112a442, 4); crypto.randomBytes(12).copy(h, 8);
  let body = Buffer.concat(attrs); h.writeUInt16BE(body.length + 24, 2);
  const mi = crypto.createHmac('sha1', password).update(Buffer.concat([h, body])).digest();
  const ma = Buffer.alloc(24); ma.writeUInt16BE(8, 0); ma.writeUInt16BE(20, 2); mi.copy(ma, 4); body = Buffer.concat([body, ma]);
  h.writeUInt16BE(body.length + 8, 2);
  const fp = Buffer.alloc(8); fp.writeUInt16BE(0x8028, 0); fp.writeUInt16BE(4, 2); fp.writeUInt32BE((crc32(Buffer.concat([h, body])) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([h, body, fp]);
}

async function main() {
  const CONSENT_S = Number(process.env.CONSENT_S || 10); // worker clamps to [10, 60]
  log('mediasoup', mediasoup.version, 'workerBin:', process.env.MEDIASOUP_WORKER_BIN);
  const worker = await mediasoup.createWorker({ logLevel: 'warn', logTags: ['ice', 'dtls', 'srtp'] });
  worker.on('died', (e) => { console.error('WORKER DIED', e); process.exit(1); });
  const dump = await worker.dump();
  log('worker pid:', worker.pid, 'libsrtp/openssl ok; worker.dump keys:', Object.keys(dump).join(','));
  const router = await worker.createRouter({ mediaCodecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 } ] });
  log('router codecs:', router.rtpCapabilities.codecs.map((c) => `${c.mimeType}/${c.preferredPayloadType}`).join(' '));
  const t = await router.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'tcp', ip: '127.0.0.1' }],
    iceConsentTimeout: CONSENT_S });
  const events = [];
  const seen = {};
  for (const ev of ['icestatechange', 'iceselectedtuplechange', 'dtlsstatechange', 'routerclose', 'listenserverclose']) {
    t.on(ev, (arg) => { events.push(`${ev}:${typeof arg === 'string' ? arg : 'tuple'}`); (seen[ev] ||= []).push([Date.now(), arg]);
      log(`  event ${ev}:`, JSON.stringify(arg)); });
  }
  t.observer.on('close', () => { events.push('observer.close'); log('  observer close'); });
  log('iceParameters:', JSON.stringify(t.iceParameters));
  log('iceCandidates:', JSON.stringify(t.iceCandidates));
  log('iceState:', t.iceState, 'dtlsState:', t.dtlsState);
  assert.strictEqual(t.iceState, 'new');

  // UDP relay so STUN (from here) and DTLS (from openssl) share one 5-tuple.
  const udp = t.iceCandidates.find((c) => c.protocol === 'udp');
  const toWorker = dgram.createSocket('udp4'); const front = dgram.createSocket('udp4');
  await new Promise((r) => toWorker.bind(0, '127.0.0.1', r));
  await new Promise((r) => front.bind(0, '127.0.0.1', r));
  let client; let stunOk = 0;
  front.on('message', (m, rinfo) => { client = rinfo; toWorker.send(m, udp.port, udp.ip); });
  toWorker.on('message', (m) => {
    if (m.length >= 20 && m.readUInt16BE(0) === 0x0101) { stunOk++; return; }
    if (m[0] >= 20 && m[0] <= 63 && client) front.send(m, client.port, client.address);
  });
  let lastStunAt = 0;
  const sendStun = () => { lastStunAt = Date.now(); toWorker.send(stun({ remoteUfrag: t.iceParameters.usernameFragment, password: t.iceParameters.password }), udp.port, udp.ip); };
  sendStun(); await sleep(200);
  log('STUN Binding success responses:', stunOk, '| iceState:', t.iceState, '| selected tuple:', JSON.stringify(t.iceSelectedTuple));
  assert.ok(stunOk >= 1); assert.ok(['connected', 'completed'].includes(t.iceState));

  // DTLS: we are the DTLS client (openssl), the worker is the server.
  const fp = execFileSync('openssl', ['x509', '-in', 'cert.pem', '-noout', '-fingerprint', '-sha256']).toString().split('=')[1].trim();
  await t.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fp }] } });
  const keepalive = setInterval(sendStun, 1000); // consent refresh (like a browser)
  const sc = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${front.address().port}`,
    '-cert', 'cert.pem', '-key', 'key.pem', '-use_srtp', 'SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80', '-noservername'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = ''; sc.stdout.on('data', (d) => { out += d; }); sc.stderr.on('data', (d) => { out += d; });
  const dtls = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 8000);
    t.on('dtlsstatechange', (s) => { if (s === 'connected' || s === 'failed') { clearTimeout(timer); setTimeout(() => resolve(s), 200); } });
  });
  log('DTLS result:', dtls, '| s_client:', (out.match(/SRTP Extension negotiated, profile=\S+|Protocol\s*:.*|Cipher\s*:.*/g) || []).join(' | '));
  assert.strictEqual(dtls, 'connected');
  assert.ok(typeof t.dtlsRemoteCert === 'string' && t.dtlsRemoteCert.startsWith('-----BEGIN CERTIFICATE'));

  const stats = await t.getStats();
  log('getStats():', JSON.stringify(stats[0]));
  assert.strictEqual(stats[0].type, 'webrtc-transport'); assert.strictEqual(stats[0].dtlsState, 'connected');
  assert.ok(stats[0].bytesReceived > 0 && stats[0].bytesSent > 0);

  // Keep consent alive for longer than the timeout: must stay connected.
  await sleep((CONSENT_S + 2) * 1000);
  log(`after ${CONSENT_S + 2}s of STUN every 1s: iceState =`, t.iceState);
  assert.ok(['connected', 'completed'].includes(t.iceState));

  // Stop sending STUN: the worker must declare ICE 'disconnected' ~CONSENT_S later.
  clearInterval(keepalive);
  const stoppedAt = lastStunAt;
  log('stopped sending STUN consent requests (last one sent', ((Date.now() - stoppedAt) / 1000).toFixed(2), 's ago)');
  const disc = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), (CONSENT_S + 10) * 1000);
    t.on('icestatechange', (s) => { if (s === 'disconnected') { clearTimeout(timer); resolve(Date.now()); } });
  });
  assert.ok(disc, 'no icestatechange "disconnected" after consent stopped');
  log(`icestatechange 'disconnected' ${((disc - stoppedAt) / 1000).toFixed(2)}s after the last STUN request (iceConsentTimeout ${CONSENT_S}s)`);
  const dSec = (disc - stoppedAt) / 1000;
  assert.ok(dSec > CONSENT_S - 1.5 && dSec < CONSENT_S + 1.5, `disconnect after ${dSec}s`);

  // STUN again -> back to connected/completed.
  sendStun(); await sleep(300);
  log('after a new STUN request: iceState =', t.iceState);

  const ice = await t.restartIce();
  log('restartIce():', JSON.stringify(ice));
  assert.strictEqual(t.iceParameters.usernameFragment, ice.usernameFragment);

  // routerclose / listenserverclose on other transports.
  const t2 = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  t2.on('routerclose', () => events.push('t2.routerclose'));
  const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const t3 = await router.createWebRtcTransport({ webRtcServer: server, iceConsentTimeout: CONSENT_S });
  t3.on('listenserverclose', () => events.push('t3.listenserverclose'));
  server.close();
  sc.kill();
  t.close(); router.close(); toWorker.close(); front.close(); worker.close();
  log('events:', events.join(', '));
  for (const e of ['iceselectedtuplechange:tuple', 'dtlsstatechange:connecting', 'dtlsstatechange:connected', 'icestatechange:disconnected', 'observer.close', 't2.routerclose', 't3.listenserverclose'])
    assert.ok(events.includes(e), `missing event ${e}`);
  assert.ok(t.closed && t2.closed && t3.closed && router.closed && worker.closed);
  log('SMOKE OK');
}
main().catch((e) => { console.error('SMOKE FAILED', e); process.exit(1); });
EOF
  MEDIASOUP_WORKER_BIN="$OUT_BIN" timeout 120 node smoke.js

  step "SRTP/SRTCP end-to-end test (npm: werift-rtp@0.8.9 as the client-side SRTP stack)"
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error werift-rtp@0.8.9
  cat > srtp-test.js <<'EOF'
'use strict';
// End-to-end SRTP/SRTCP through a locally built mediasoup-worker: DTLS-SRTP
// keys exported by `openssl s_client -keymatexport EXTRACTOR-dtls_srtp`,
// media protected/unprotected on the client side with werift-rtp (npm).
//  - client -> worker SRTP  (worker: srtp_unprotect)       producer stats count packets
//  - worker -> client SRTP  (worker: srtp_protect)         consumer packets decrypt to the sent payloads
//  - client -> worker SRTCP SR (worker: srtp_unprotect_rtcp)
//  - worker -> client SRTCP RR (worker: srtp_protect_rtcp)  its LSR echoes our SR's NTP
// Usage: MEDIASOUP_WORKER_BIN=... node srtp-test.js [SRTP_AES128_CM_SHA1_80|SRTP_AEAD_AES_128_GCM]
const assert = require('assert');
const { execFileSync, spawn } = require('child_process');
const crypto = require('crypto');
const dgram = require('dgram');
const mediasoup = require('mediasoup');
const { SrtpSession, SrtcpSession, RtpHeader, RtpPacket, RtcpSrPacket, RtcpSenderInfo, RtcpPacketConverter } = require('werift-rtp');
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CRC = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc32 = (b) => { let c = 0xffffffff; for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
function stun({ remoteUfrag, password }) {
  const attrs = [];
  const attr = (t, v) => { const b = Buffer.alloc(4 + v.length + ((4 - (v.length % 4)) % 4)); b.writeUInt16BE(t, 0); b.writeUInt16BE(v.length, 2); v.copy(b, 4); attrs.push(b); };
  attr(0x0006, Buffer.from(`${remoteUfrag}:srtp`));
  const p = Buffer.alloc(4); p.writeUInt32BE(1853824767); attr(0x0024, p);
  attr(0x802a, crypto.randomBytes(8)); attr(0x0025, Buffer.alloc(0));
  const h = Buffer.alloc(20); h.writeUInt16BE(1, 0); h.writeUInt32BE(0x2112a442, 4); crypto.randomBytes(12).copy(h, 8);
  let body = Buffer.concat(attrs); h.writeUInt16BE(body.length + 24, 2);
  const mi = crypto.createHmac('sha1', password).update(Buffer.concat([h, body])).digest();
  const ma = Buffer.alloc(24); ma.writeUInt16BE(8, 0); ma.writeUInt16BE(20, 2); mi.copy(ma, 4); body = Buffer.concat([body, ma]);
  h.writeUInt16BE(body.length + 8, 2);
  const fp = Buffer.alloc(8); fp.writeUInt16BE(0x8028, 0); fp.writeUInt16BE(4, 2); fp.writeUInt32BE((crc32(Buffer.concat([h, body])) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([h, body, fp]);
}
const PROFILES = { // openssl name -> [werift profile, master key len, master salt len]
  SRTP_AES128_CM_SHA1_80: [1, 16, 14],
  SRTP_AEAD_AES_128_GCM: [7, 16, 12],
  SRTP_AEAD_AES_256_GCM: [null, 32, 12], // werift cannot do it: only worker->client packets are checked (length = RTP + 16-byte tag)
};

async function main() {
  const profileName = process.argv[2] || 'SRTP_AES128_CM_SHA1_80';
  const [profile, K, S] = PROFILES[profileName];
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  worker.on('died', (e) => { console.error('WORKER DIED', e); process.exit(1); });
  const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
  const t = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const udp = t.iceCandidates[0];
  const toWorker = dgram.createSocket('udp4'); const front = dgram.createSocket('udp4');
  await new Promise((r) => toWorker.bind(0, '127.0.0.1', r));
  await new Promise((r) => front.bind(0, '127.0.0.1', r));
  let client; let srtp = null; let srtcp = null;
  const rtpIn = []; const rtcpIn = []; let undecryptable = 0; const rawRtpLens = [];
  front.on('message', (m, rinfo) => { client = rinfo; toWorker.send(m, udp.port, udp.ip); });
  toWorker.on('message', (m) => {
    if (m[0] >= 20 && m[0] <= 63) { if (client) front.send(m, client.port, client.address); return; }
    if (m[0] < 128 || m[0] > 191) return; // STUN responses etc.
    if (!srtp) { // RTP header is in clear in SRTP: check that len = header + 80 payload + 16 GCM tag
      if (m[1] < 192 || m[1] > 223) { let h = 12 + 4 * (m[0] & 0x0f); if (m[0] & 0x10) h += 4 + 4 * m.readUInt16BE(h + 2); rawRtpLens.push(m.length - h); }
      return; }
    try {
      if (m[1] >= 192 && m[1] <= 223) rtcpIn.push(...RtcpPacketConverter.deSerialize(srtcp.decrypt(m)));
      else rtpIn.push(RtpPacket.deSerialize(srtp.decrypt(m)));
    } catch (e) { undecryptable++; }
  });
  const sendStun = () => toWorker.send(stun({ remoteUfrag: t.iceParameters.usernameFragment, password: t.iceParameters.password }), udp.port, udp.ip);
  sendStun(); const keepalive = setInterval(sendStun, 1000); await sleep(200);

  const fp = execFileSync('openssl', ['x509', '-in', 'cert.pem', '-noout', '-fingerprint', '-sha256']).toString().split('=')[1].trim();
  await t.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fp }] } });
  const sc = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${front.address().port}`, '-cert', 'cert.pem', '-key', 'key.pem',
    '-use_srtp', profileName, '-keymatexport', 'EXTRACTOR-dtls_srtp', '-keymatexportlen', String(2 * (K + S)), '-noservername'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = ''; sc.stdout.on('data', (d) => { out += d; }); sc.stderr.on('data', (d) => { out += d; });
  for (let i = 0; i < 80 && !(t.dtlsState === 'connected' && /Keying material: [0-9A-F]+/.test(out)); i++) await sleep(100);
  assert.strictEqual(t.dtlsState, 'connected');
  const km = Buffer.from(out.match(/Keying material: ([0-9A-F]+)/)[1], 'hex');
  log('DTLS connected;', (out.match(/SRTP Extension negotiated, profile=\S+/) || ['?'])[0], `| exported ${km.length} bytes of keying material`);
  const keys = { // RFC 5764 4.2: client key | server key | client salt | server salt; we are the client
    localMasterKey: km.subarray(0, K), remoteMasterKey: km.subarray(K, 2 * K),
    localMasterSalt: km.subarray(2 * K, 2 * K + S), remoteMasterSalt: km.subarray(2 * K + S, 2 * K + 2 * S) };
  if (profile) { srtp = new SrtpSession({ keys, profile }); srtcp = new SrtcpSession({ keys, profile }); }

  const plainT = profile ? null : await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true, rtcpMux: true });
  const plainSock = dgram.createSocket('udp4'); await new Promise((r) => plainSock.bind(0, '127.0.0.1', r));
  const producer = await (plainT || t).produce({ kind: 'audio', rtpParameters: {
    codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
    encodings: [{ ssrc: 1111 }], rtcp: { cname: 'srtp-test' } } });
  const consumer = await t.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  if (consumer.paused) await consumer.resume();
  log('producer', producer.id, 'consumer ssrc', consumer.rtpParameters.encodings[0].ssrc, 'pt', consumer.rtpParameters.codecs[0].payloadType);

  const sent = new Set(); const N = 100; let ntp = 0n;
  for (let i = 0; i < N; i++) {
    const payload = crypto.randomBytes(80); sent.add(payload.toString('hex'));
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: 1000 + i, timestamp: 5000 + 960 * i, ssrc: 1111, marker: i === 0 });
    if (!srtp) { // no client-side cipher: feed plain RTP through a PlainTransport producer instead
      plainSock.send(new RtpPacket(header, payload).serialize(), plainT.tuple.localPort, '127.0.0.1'); await sleep(20); continue; }
    toWorker.send(srtp.encrypt(payload, header), udp.port, udp.ip);
    if (i === 20 && srtcp) { // SRTCP sender report from the "client"
      ntp = (BigInt(Math.floor(Date.now() / 1000) + 2208988800) << 32n) | 0x12345678n;
      const sr = new RtcpSrPacket({ ssrc: 1111, senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: 5000 + 960 * i, packetCount: i + 1, octetCount: 80 * (i + 1) }) });
      toWorker.send(srtcp.encrypt(sr.serialize()), udp.port, udp.ip);
    }
    await sleep(20);
  }
  if (!srtp) {
    await sleep(300);
    const cS = (await consumer.getStats()).find((x) => x.type === 'outbound-rtp');
    const ok = rawRtpLens.filter((l) => l === 80 + 16).length;
    log(`worker->client SRTP (${profileName}): ${rawRtpLens.length} packets, ${ok} with RTP header + 96 bytes (80 payload + 16-byte GCM tag), consumer packetCount=${cS.packetCount}`);
    assert.ok(ok >= N * 0.95);
    clearInterval(keepalive); sc.kill(); toWorker.close(); front.close(); plainSock.close(); worker.close();
    log(`SRTP OK (${profileName}, worker->client direction only)`);
    return;
  }
  const lsrWanted = Number((ntp >> 16n) & 0xffffffffn);
  let rr;
  for (let i = 0; i < 120 && !rr; i++) {
    for (const p of rtcpIn) for (const r of p.reports || []) if (r.ssrc === 1111 && r.lsr === lsrWanted) rr = r;
    if (!rr) await sleep(100);
  }
  const pStats = (await producer.getStats())[0]; const cStats = (await consumer.getStats()).find((s) => s.type === 'outbound-rtp');
  const matched = rtpIn.filter((p) => sent.has(p.payload.toString('hex'))).length;
  log(`client->worker SRTP: producer stats packetCount=${pStats.packetCount} byteCount=${pStats.byteCount}`);
  log(`worker->client SRTP: ${rtpIn.length} packets decrypted, ${matched} payloads identical to the sent ones, consumer packetCount=${cStats.packetCount}, undecryptable=${undecryptable}`);
  log(`worker->client SRTCP: ${rtcpIn.length} RTCP packets decrypted (${[...new Set(rtcpIn.map((p) => p.constructor.name))].join(',')}); RR for ssrc 1111 echoes our SR (lsr=0x${lsrWanted.toString(16)}): ${rr ? JSON.stringify(rr.toJSON ? rr.toJSON() : rr) : 'NO'}`);
  assert.ok(pStats.packetCount >= N * 0.95, 'worker did not unprotect client SRTP');
  assert.ok(matched >= N * 0.95, 'client could not unprotect worker SRTP');
  assert.strictEqual(undecryptable, 0);
  assert.ok(rr, 'no RR echoing our SR (SRTCP in or out failed)');
  clearInterval(keepalive); sc.kill(); toWorker.close(); front.close(); plainSock.close(); worker.close();
  log(`SRTP OK (${profileName})`);
}
main().catch((e) => { console.error('SRTP TEST FAILED', e); process.exit(1); });
EOF
  for profile in SRTP_AES128_CM_SHA1_80 SRTP_AEAD_AES_128_GCM SRTP_AEAD_AES_256_GCM; do
    MEDIASOUP_WORKER_BIN="$OUT_BIN" timeout 60 node srtp-test.js "$profile"
  done
fi

step "done"
echo "mediasoup-worker $MS_VERSION: $OUT_BIN ($(stat -c %s "$OUT_BIN") bytes, ninja ${BUILD_S}s on $JOBS jobs, total $(( $(date +%s) - T_START ))s)"
echo "runtime: export MEDIASOUP_WORKER_BIN=$OUT_BIN   (npm install --ignore-scripts mediasoup@$MS_VERSION)"
