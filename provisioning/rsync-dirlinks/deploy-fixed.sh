#!/usr/bin/env bash
# fix: the team's Makefile with rsync's -K (--keep-dirlinks): rsync follows a symlink to a
# directory on the receiving side, so /lib -> usr/lib survives and the unit lands in
# /usr/lib/systemd/system/. Then the same `make deploy`.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/rsync-dirlinks/lib.sh
. "$YK_LAB_DIR/rsync-dirlinks/lib.sh"
require_team_repo
sed -i 's/rsync -v -r /rsync -K -v -r /' "$TEAM_REPO/Makefile"
grep -n 'rsync' "$TEAM_REPO/Makefile"
make_deploy
