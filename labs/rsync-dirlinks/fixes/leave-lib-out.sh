#!/usr/bin/env bash
# expect: FAIL mysql.service as systemd loads it
# why: hides the symptom by not deploying: /lib is safe because the unit the team needs never reaches systemd
set -euo pipefail
rsync -r --exclude=/lib "$YK_LAB_DIR/rsync-dirlinks/files/" /
systemctl daemon-reload
