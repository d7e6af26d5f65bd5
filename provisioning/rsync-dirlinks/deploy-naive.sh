#!/usr/bin/env bash
# The team's deploy, as it was on the day: copy the repository's files/ tree over /.
# On a merged-/usr system `rsync -r` replaces the /lib -> usr/lib symlink with a real
# directory holding only systemd/system/mysql.service: every dynamic binary is gone.
# YK_DEPLOY_TREE: the directory holding files/ (default: this lab's tree).
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
cd "${YK_DEPLOY_TREE:-$YK_LAB_DIR/rsync-dirlinks}"
echo "+ sudo rsync -r files/ /"
sudo rsync -r files/ /
echo "+ systemctl daemon-reload"
systemctl daemon-reload
echo "deployed"
