#!/usr/bin/env bash
# Makes sure the Debian (bookworm) packages the tests and the demo drive for real are present:
#   chromium                 real WebRTC client (Chrome DevTools Protocol)
#   firefox-esr              real WebRTC client (WebDriver BiDi through puppeteer-core, headless)
#   gstreamer1.0-* python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1
#                            GStreamer webrtcbin (libnice) client, a Python child process
#   iproute2                 network namespaces (`ip netns`) the Firefox client runs in
#   redis-server redis-tools multi-node limits (redis-cli joins the test Cluster);  openssl  a short-lived WebTransport certificate
#   prometheus               promtool checks and unit-tests the shipped alert rules (contrib/prometheus);
#                            the server scrapes a watchdog to check the Grafana dashboard's queries
# As root on Debian they are installed; otherwise the exact apt-get line is printed and the
# script fails. (Each mediasoup worker build installs its own build dependencies when it runs:
# scripts/build-mediasoup-worker.sh for 3.12.16, scripts/build-mediasoup-worker-3.27.sh for 3.27.1.)
set -euo pipefail
PKGS=(chromium firefox-esr redis-server redis-tools openssl iproute2 prometheus
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice
  python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1)
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
