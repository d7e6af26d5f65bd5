#!/usr/bin/env bash
# break: the team's deploy, as it was on the day: `make deploy`, whose Makefile runs
# `sudo rsync -v -r s1/ /` and then `sh s1/deploy.sh`. On a merged-/usr system rsync replaces
# the /lib -> usr/lib symlink with a real directory holding only systemd/system/mysql.service:
# every dynamic binary is gone, and make's next command (sh) cannot start.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/rsync-dirlinks/lib.sh
. "$YK_LAB_DIR/rsync-dirlinks/lib.sh"
require_team_repo
make_deploy
