#!/usr/bin/env bash
# expect: PASS
# why: the unit goes where local units belong, /etc/systemd/system, and /lib is never written
set -euo pipefail
files=$YK_LAB_DIR/rsync-dirlinks/files
install -D -m 0644 "$files/lib/systemd/system/mysql.service" /etc/systemd/system/mysql.service
install -D -m 0644 "$files/etc/mysql/conf.d/isucon.cnf" /etc/mysql/conf.d/isucon.cnf
systemctl daemon-reload
