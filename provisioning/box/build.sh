#!/usr/bin/env bash
# Build an offline Vagrant box (libvirt, qcow2) from Debian's archive.
#
# Inputs come from the environment (yarakashi.boxes sets them; see platforms.toml):
#   YK_SUITE       bullseye | bookworm
#   YK_USR         split | merged
#   YK_PLATFORM    platform name, written into the guest marker
#   YK_PACKAGES    packages installed in the box (space separated)
#   YK_REPO        packages kept as .debs in a local apt repo inside the box
#   YK_APPS        the labs' programs built into the box: NAME=DIR pairs, DIR a Go main package
#                  on the host, built to /opt/yarakashi/bin/NAME (space separated)
#   YK_APP_PACKAGES  Debian packages the apps are built with, removed from the box afterwards
#   YK_OUT         output directory (box.img, metadata.json, Vagrantfile, vagrant_key)
#   YK_CACHE       cache directory for downloaded .debs
#   YK_MIRROR      Debian mirror URL (default: the host's own apt configuration)
#   YK_DISK_GB     virtual disk size in GiB (default 8)
#
# Example:
#   YK_SUITE=bookworm YK_USR=merged YK_PLATFORM=debian12-merged YK_PACKAGES="..." \
#   YK_REPO="mariadb-server" YK_OUT=/var/lib/yarakashi/boxes/debian12-merged \
#   YK_CACHE=/var/cache/yarakashi provisioning/box/build.sh
set -euo pipefail

: "${YK_SUITE:?}" "${YK_USR:?}" "${YK_PLATFORM:?}" "${YK_PACKAGES:?}" "${YK_OUT:?}" "${YK_CACHE:?}"
YK_REPO=${YK_REPO:-}
YK_APPS=${YK_APPS:-}
YK_APP_PACKAGES=${YK_APP_PACKAGES:-}
YK_DISK_GB=${YK_DISK_GB:-8}
here=$(cd "$(dirname "$0")" && pwd)

log() { printf '[box %s %s] %s\n' "$YK_PLATFORM" "$(date +%T)" "$*"; }

host_mirror() {
  # The first Debian archive URI the host's apt uses (deb822 or one-line format).
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || { echo "no Debian mirror found in /etc/apt; set YK_MIRROR" >&2; exit 2; }
  echo "$uri"
}
mirror=${YK_MIRROR:-$(host_mirror)}

work="$YK_OUT/build"
rootfs="$work/rootfs"
rm -rf "$work"
mkdir -p "$work" "$YK_CACHE/debootstrap-$YK_SUITE" "$YK_CACHE/apt-$YK_SUITE"
trap 'rm -rf "$rootfs"' EXIT

case "$YK_USR" in
  split) usrflag=--no-merged-usr ;;
  merged) usrflag=--merged-usr ;;
  *) echo "YK_USR must be split or merged, not '$YK_USR'" >&2; exit 2 ;;
esac

log "debootstrap $YK_SUITE ($YK_USR /usr) from the host's Debian mirror"
debootstrap --variant=minbase "$usrflag" --cache-dir="$YK_CACHE/debootstrap-$YK_SUITE" \
  --include="$(echo "$YK_PACKAGES" | tr ' ' ',')" "$YK_SUITE" "$rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log"; exit 1; }

in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

if [ -n "$YK_REPO" ]; then
  log "local apt repo in the box: $YK_REPO"
  cp -a "$YK_CACHE/apt-$YK_SUITE/." "$rootfs/var/cache/apt/archives/" 2>/dev/null || true
  in_root apt-get update -q > "$work/apt.log" 2>&1
  # shellcheck disable=SC2086  # word splitting of the package list is intended
  in_root apt-get install -y -q --download-only $YK_REPO >> "$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log"; exit 1; }
  cp -a "$rootfs/var/cache/apt/archives/"*.deb "$YK_CACHE/apt-$YK_SUITE/"
  mkdir -p "$rootfs/opt/yarakashi/repo"
  mv "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/opt/yarakashi/repo/"
  (cd "$rootfs/opt/yarakashi/repo" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
fi

if [ -n "$YK_APPS" ]; then
  # Built here, at the host's speed, not in a guest under TCG; the toolchain leaves the box.
  log "building the labs' apps with $YK_APP_PACKAGES: $YK_APPS"
  # shellcheck disable=SC2086  # word splitting of the package list is intended
  in_root apt-get install -y -q --no-install-recommends $YK_APP_PACKAGES >> "$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log"; exit 1; }
  cp -a "$rootfs/var/cache/apt/archives/"*.deb "$YK_CACHE/apt-$YK_SUITE/" 2>/dev/null || true
  mkdir -p "$rootfs/opt/yarakashi/bin"
  for app in $YK_APPS; do
    name=${app%%=*}
    rm -rf "$rootfs/tmp/yk-app"
    cp -a "${app#*=}" "$rootfs/tmp/yk-app"
    in_root HOME=/tmp GOCACHE=/tmp/yk-gocache GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=0 \
      sh -c "cd /tmp/yk-app && go build -trimpath -o /opt/yarakashi/bin/$name ." >> "$work/apt.log" 2>&1 \
      || { tail -n 30 "$work/apt.log"; exit 1; }
  done
  rm -rf "$rootfs/tmp/yk-app" "$rootfs/tmp/yk-gocache"
  # shellcheck disable=SC2086
  in_root apt-get purge -y -q --auto-remove $YK_APP_PACKAGES >> "$work/apt.log" 2>&1
  [ ! -e "$rootfs/usr/bin/go" ] || { echo "the Go toolchain is still in the box" >&2; exit 1; }
fi

log "configuring the guest"
# Guests have no route to any archive: apt sees only the repo baked into the box.
rm -f "$rootfs/etc/apt/sources.list"
echo "deb [trusted=yes] file:/opt/yarakashi/repo ./" > "$rootfs/etc/apt/sources.list.d/yarakashi.list"
[ -n "$YK_REPO" ] || rm -f "$rootfs/etc/apt/sources.list.d/yarakashi.list"
in_root apt-get update -q >> "$work/apt.log" 2>&1 || true
in_root apt-get clean

uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$YK_PLATFORM" > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$YK_PLATFORM" > "$rootfs/etc/hosts"
# fsck pass 0: a clean ext4 needs no check at each boot, and mounting it replays the journal
# after a power cycle anyway (ext4's own behaviour, not fsck's).
echo "UUID=$uuid / ext4 errors=remount-ro 0 0" > "$rootfs/etc/fstab"
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
mkdir -p "$rootfs/var/log/journal"   # journal survives reboots: the labs read the previous boot

cat > "$rootfs/etc/systemd/network/50-dhcp.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
NET
in_root systemctl enable systemd-networkd.service > /dev/null 2>&1

in_root useradd -m -s /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$rootfs/etc/sudoers.d/vagrant"
chmod 0440 "$rootfs/etc/sudoers.d/vagrant"
rm -f "$YK_OUT/vagrant_key" "$YK_OUT/vagrant_key.pub"
ssh-keygen -q -t ed25519 -N '' -C "yarakashi-$YK_PLATFORM" -f "$YK_OUT/vagrant_key"
install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/vagrant/.ssh"
install -m 0600 -o 1000 -g 1000 "$YK_OUT/vagrant_key.pub" "$rootfs/home/vagrant/.ssh/authorized_keys"
printf 'UseDNS no\nPasswordAuthentication no\n' > "$rootfs/etc/ssh/sshd_config.d/yarakashi.conf"

# The marker that every destructive step checks (provisioning/common/guard.sh).
printf 'platform=%s\nsuite=%s\nusr=%s\nbuilt=%s\n' "$YK_PLATFORM" "$YK_SUITE" "$YK_USR" "$(date -u +%FT%TZ)" \
  > "$rootfs/etc/yarakashi-guest"

cat > "$rootfs/etc/default/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=yarakashi
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200"
GRUB_TERMINAL="console serial"
GRUB
install -m 0755 "$here/firstboot.sh" "$rootfs/usr/local/sbin/yarakashi-firstboot"

log "leaving out of every boot what no lab needs (lean-boot.sh)"
"$here/lean-boot.sh" "$rootfs"

log "writing the disk image (${YK_DISK_GB} GiB, ext4 on partition 1)"
raw="$work/disk.raw"
truncate -s "${YK_DISK_GB}G" "$raw"
echo 'start=2048, type=83, bootable' | sfdisk -q "$raw"
blocks=$(( (YK_DISK_GB * 1024 * 1024 * 1024 - 1048576) / 4096 ))
mkfs.ext4 -q -F -b 4096 -U "$uuid" -L yk-root -E offset=1048576 -d "$rootfs" "$raw" "$blocks"

log "first boot under QEMU (TCG): grub-install inside the guest"
kernel=$(printf '%s\n' "$rootfs"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(printf '%s\n' "$rootfs"/boot/initrd.img-* | sort -V | tail -n1)
timeout 900 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 -display none -no-reboot \
  -serial "file:$work/firstboot.log" -nic none \
  -drive "file=$raw,format=raw,if=virtio" -kernel "$kernel" -initrd "$initrd" \
  -append "root=/dev/vda1 rw console=ttyS0 init=/usr/local/sbin/yarakashi-firstboot"
grep -q 'YARAKASHI-FIRSTBOOT-OK' "$work/firstboot.log" || { tail -n 40 "$work/firstboot.log"; echo "first boot failed" >&2; exit 1; }

log "the kernel and initrd for a direct boot (boot/: no boot loader, no kernel decompression)"
# A local libvirt host boots the box's own kernel and initrd from these copies (Vagrantfile.j2):
# under TCG, GRUB's reads and the kernel's xz decompression took 13 s of each reboot
# (bench/results.md, "reboot to SSH"). The disk keeps GRUB for every other host.
rm -rf "${YK_OUT:?}/boot" && mkdir -p "$YK_OUT/boot"
python3 - "$kernel" "$YK_OUT/boot/vmlinux" <<'PY'
import lzma, sys, zlib
image = open(sys.argv[1], "rb").read()
# A bzImage carries the ELF vmlinux compressed (Debian's kernels: xz); QEMU starts its PVH entry.
unpackers = {b"\xfd7zXZ\x00": lambda b: lzma.LZMADecompressor().decompress(b),
             b"\x1f\x8b\x08": lambda b: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b)}
for magic, unpack in unpackers.items():
    at = image.find(magic)
    if at >= 0 and (elf := unpack(image[at:]))[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(elf)
        sys.exit(0)
sys.exit(f"no xz or gzip ELF payload in {sys.argv[1]}")
PY
cp "$initrd" "$YK_OUT/boot/initrd.img"
echo "root=UUID=$uuid ro console=tty0 console=ttyS0,115200 quiet" > "$YK_OUT/boot/cmdline"

log "converting to qcow2"
qemu-img convert -O qcow2 "$raw" "$YK_OUT/box.img"
rm -f "$raw"
cat > "$YK_OUT/metadata.json" <<META
{"provider": "libvirt", "format": "qcow2", "virtual_size": $YK_DISK_GB}
META
cat > "$YK_OUT/Vagrantfile" <<'VF'
# Box defaults for a yarakashi offline box: the per-build key travels with the box.
Vagrant.configure("2") do |config|
  config.ssh.username = "vagrant"
  config.ssh.insert_key = false
  config.ssh.private_key_path = File.expand_path("vagrant_key", __dir__)
end
VF
log "done: $(du -sh "$YK_OUT/box.img" | cut -f1) image"
