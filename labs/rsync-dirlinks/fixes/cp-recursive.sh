#!/usr/bin/env bash
# expect: FAIL mysql.service as systemd loads it
# exits: 1
# why: cp refuses to put a directory over the /lib symlink and stops: /lib survives, the unit is never deployed
set -euo pipefail
cd /home/isucon/isucon10-final   # the team's repository (prepare checked it out)
cp -r s1/. /
systemctl daemon-reload
