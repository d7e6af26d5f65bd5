#!/usr/bin/env bash
# The same deploy with the fix: -K (--keep-dirlinks) makes rsync follow a symlink to a
# directory on the receiving side, so /lib -> usr/lib survives and the unit lands in
# /usr/lib/systemd/system/.
# YK_DEPLOY_TREE: the directory holding files/ (default: this lab's tree).
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
cd "${YK_DEPLOY_TREE:-$YK_LAB_DIR/rsync-dirlinks}"
echo "+ sudo rsync -K -r files/ /"
sudo rsync -K -r files/ /
echo "+ systemctl daemon-reload"
systemctl daemon-reload
echo "deployed"
