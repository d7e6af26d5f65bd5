#!/usr/bin/env bash
# expect: FAIL mariadbd exempt from the OOM killer
# why: switches a protection off: when memory runs out the kernel can only kill everything else
set -euo pipefail
mkdir -p /etc/systemd/system/mariadb.service.d
printf '[Service]\nOOMScoreAdjust=-1000\n' > /etc/systemd/system/mariadb.service.d/never-kill.conf
systemctl daemon-reload
systemctl restart mariadb
