#!/usr/bin/env bash
# Makes sure the Debian packages the tests and the demo drive for real are present:
# chromium (real WebRTC client), redis-server (multi-node limits), openssl (a short-lived
# certificate for the WebTransport test). As root on Debian they are installed; otherwise the
# exact apt-get line is printed and the script fails. (The mediasoup worker's build
# dependencies are handled by scripts/build-mediasoup-worker.sh when a build is needed.)
set -euo pipefail
PKGS=(chromium redis-server openssl)
missing=()
for pkg in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "mediasoup-watchdog: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
  exit 0
fi
echo "mediasoup-watchdog: the tests and the demo need Debian packages that are missing." >&2
echo "Install them, then run the command again:" >&2
echo "  sudo apt-get install -y --no-install-recommends ${PKGS[*]}" >&2
exit 1
