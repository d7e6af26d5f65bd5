#!/usr/bin/env bash
# Leave out of every boot of an offline box what no lab guest needs: under TCG each boot is
# CPU-bound on one vCPU, and the suite boots and reboots guests about a hundred times.
# Run by build.sh on the box's root tree before the disk image is written.
#
# What is left out, and why no lab's evidence depends on it:
#   initramfs   MODULES=list with only virtio_pci, virtio_blk and ext4 (the root disk):
#               Debian's default MODULES=most makes a 35 MB initrd that the kernel spends
#               about 23 s unpacking under TCG (bench/results.md, "reboot to SSH").
#   timers      apt-daily, apt-daily-upgrade, dpkg-db-backup, e2scrub_all, fstrim and
#               systemd-tmpfiles-clean: none fires on its own inside a lab's evidence window
#               (tmpfiles-clean's first run is 15 min after boot, inside apparmor-cache's
#               900 s wait); the guests have no archive to fetch from and a fixed disk.
#   units       e2scrub_reap (removes stale LVM snapshots: the boxes have no LVM);
#               modprobe@ for drm, efi_pstore, fuse, dm_mod and loop (no display, no EFI,
#               no FUSE, no device mapper, no loop devices in any lab).
#   modules     floppy, pcspkr, cfg80211 and kvm: hardware the guests never use (no
#               nested virtualisation under TCG, no wireless).
# Kept: AppArmor (apparmor-cache's whole mechanism), journald's persistent journal (the
# labs read the previous boot), networkd, sshd, the serial console.
#
# Example:
#   provisioning/box/lean-boot.sh /var/lib/yarakashi/boxes/debian12-merged/build/rootfs
set -euo pipefail

rootfs=${1:?usage: lean-boot.sh ROOTFS}
[ -f "$rootfs/etc/yarakashi-guest" ] || { echo "lean-boot.sh: $rootfs is not a box's root tree" >&2; exit 3; }

in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

echo MODULES=list > "$rootfs/etc/initramfs-tools/conf.d/yarakashi"
printf '%s\n' virtio_pci virtio_blk ext4 >> "$rootfs/etc/initramfs-tools/modules"
in_root update-initramfs -u -k all > /dev/null 2>&1

in_root systemctl mask --quiet \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
  systemd-tmpfiles-clean.timer e2scrub_reap.service \
  modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service \
  modprobe@dm_mod.service modprobe@loop.service

printf 'blacklist %s\n' floppy pcspkr cfg80211 kvm kvm_amd kvm_intel > "$rootfs/etc/modprobe.d/yarakashi.conf"
