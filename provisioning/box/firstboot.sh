#!/bin/sh
# Runs once as init= on the box's first boot (QEMU direct kernel boot): makes the
# disk boot on its own through GRUB, then powers off. Never runs on the host:
# it needs /etc/yarakashi-guest and the virtual disk /dev/vda.
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -o remount,rw /
status=FAIL
if [ -f /etc/yarakashi-guest ] && [ -b /dev/vda ]; then
  grub-install --target=i386-pc /dev/vda && update-grub && status=OK
fi
rm -f /usr/local/sbin/yarakashi-firstboot
echo "YARAKASHI-FIRSTBOOT-$status"
sync
mount -o remount,ro /
echo o > /proc/sysrq-trigger
sleep 60
