#!/usr/bin/env bash
# expect: PASS
# why: the one compiled file for usr.sbin.mysqld goes, the stale profile is removed through securityfs, nothing else changes
set -euo pipefail
rm -f /var/cache/apparmor/*/usr.sbin.mysqld /etc/apparmor.d/cache/usr.sbin.mysqld
printf '%s' /usr/sbin/mariadbd > /sys/kernel/security/apparmor/.remove
systemctl restart mariadb
