#!/usr/bin/env bash
# Install what the host needs: Debian packages (Vagrant, vagrant-libvirt, libvirt, QEMU,
# debootstrap...), the project's Python venv (.venv), and the host marker that makes
# every guest step refuse to run here. Idempotent: a no-op in a second when nothing changed.
#
# Example: sudo provisioning/host/setup.sh      (./run calls it before every task)
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGES=(
  vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
  debootstrap dnsmasq-base iptables fdisk e2fsprogs dpkg-dev rsync openssh-client
  netcat-openbsd iproute2 procps shellcheck python3 python3-venv
  dropbear-bin  # the tests' second libvirt host's SSH server: binaries only, no service is started
  chromium chromium-driver fonts-ipafont-gothic  # the room portal's browser tests (selenium), Japanese glyphs
)
if [ "$(id -u)" != 0 ]; then
  echo "setup needs root (it installs Debian packages): sudo $0" >&2
  exit 2
fi

want=$( { printf '%s\n' "${PACKAGES[@]}"; cat requirements.txt; } | sha256sum | cut -c1-16)
stamp=.venv/.yarakashi-setup
installed() { dpkg-query -W -f='${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -c '^installed$' || true; }

if [ "$(installed)" != "${#PACKAGES[@]}" ]; then
  echo "[setup] installing Debian packages: ${PACKAGES[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x .venv/bin/invoke ]; then
  echo "[setup] creating .venv with requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

# The host marker: provisioning/common/guard.sh refuses to run a step where this exists.
[ -f /etc/yarakashi-host ] || echo "yarakashi host: lab steps refuse to run here" > /etc/yarakashi-host
