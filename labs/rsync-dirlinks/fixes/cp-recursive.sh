#!/usr/bin/env bash
# expect: FAIL mysql.service as systemd loads it
# exits: 1
# why: cp refuses to put a directory over the /lib symlink and stops: /lib survives, the unit is never deployed
set -euo pipefail
cp -r "$YK_LAB_DIR/rsync-dirlinks/files/." /
systemctl daemon-reload
