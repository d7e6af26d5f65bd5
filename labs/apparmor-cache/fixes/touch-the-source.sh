#!/usr/bin/env bash
# expect: PASS
# why: a source newer than its cache makes apparmor_parser compile the emptied file at every later boot; the stale profile is unloaded now
set -euo pipefail
touch /etc/apparmor.d/usr.sbin.mysqld
aa-remove-unknown
systemctl restart mariadb
