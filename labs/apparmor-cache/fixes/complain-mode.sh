#!/usr/bin/env bash
# expect: FAIL processes in AppArmor complain mode (logged, not enforced)
# why: switches the protection off for the server: a complain-mode profile only logs what it would deny
set -euo pipefail
sed 's|^/usr/sbin/mariadbd {|/usr/sbin/mariadbd flags=(complain) {|' \
  "$YK_LAB_DIR/apparmor-cache/usr.sbin.mysqld" > /etc/apparmor.d/usr.sbin.mysqld
apparmor_parser -r -W /etc/apparmor.d/usr.sbin.mysqld
systemctl restart mariadb
