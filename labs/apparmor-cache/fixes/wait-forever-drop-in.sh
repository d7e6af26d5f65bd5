#!/usr/bin/env bash
# expect: FAIL mariadb.service start settings
# expect: FAIL boot finished (systemctl is-system-running)
# why: hides the symptom: with no start timeout systemd never stops the server, and its start job never ends
set -euo pipefail
mkdir -p /etc/systemd/system/mariadb.service.d
printf '[Service]\nTimeoutStartSec=infinity\n' > /etc/systemd/system/mariadb.service.d/no-timeout.conf
systemctl daemon-reload
