#!/usr/bin/env bash
# expect: PASS
# why: states the intent instead of relying on an empty file: a real profile for mariadbd that also allows what the stale one denied (the datagram sd_notify sends, the netlink socket it asks the network through), loaded in place of the stale one and cached; the server stays confined, AppArmor stays on
set -euo pipefail
{
  sed '$d' "$YK_LAB_DIR/apparmor-cache/usr.sbin.mysqld"
  printf '  # sd_notify: READY=1 is a datagram to systemd'"'"'s notify socket\n'
  printf '  network unix dgram,\n  /run/systemd/notify w,\n'
  printf '  # what abstractions/nameservice gives: the network interfaces asked through netlink\n'
  printf '  network netlink raw,\n}\n'
} > /etc/apparmor.d/usr.sbin.mysqld
apparmor_parser --replace --write-cache /etc/apparmor.d/usr.sbin.mysqld
systemctl restart mariadb
