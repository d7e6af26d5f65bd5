#!/usr/bin/env bash
# expect: FAIL mariadb.service start settings
# expect: FAIL processes confined by a profile no file under /etc/apparmor.d defines
# why: hides the symptom: systemd stops waiting for READY=1, the stale profile still confines mariadbd
set -euo pipefail
mkdir -p /etc/systemd/system/mariadb.service.d
printf '[Service]\nType=simple\n' > /etc/systemd/system/mariadb.service.d/ready-at-once.conf
systemctl daemon-reload
systemctl restart mariadb
