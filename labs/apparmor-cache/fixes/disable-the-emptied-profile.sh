#!/usr/bin/env bash
# expect: PASS
# why: a profile linked in /etc/apparmor.d/disable/ is skipped at boot, cache and all; AppArmor stays on for every other profile
set -euo pipefail
ln -sf /etc/apparmor.d/usr.sbin.mysqld /etc/apparmor.d/disable/usr.sbin.mysqld
aa-remove-unknown
systemctl restart mariadb
