#!/usr/bin/env bash
# expect: FAIL mysql.service as systemd loads it
# why: hides the symptom by not deploying: /lib is safe because the unit the team needs never reaches systemd
set -euo pipefail
cd /home/isucon/isucon10-final   # the team's repository (prepare checked it out)
rsync -r --exclude=/lib s1/ /
systemctl daemon-reload
