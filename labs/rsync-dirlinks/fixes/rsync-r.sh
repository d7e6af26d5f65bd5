#!/usr/bin/env bash
# expect: FAIL new SSH session
# exits: 127
# why: the deploy of the day: rsync -r replaces the /lib symlink with a directory holding one unit file
set -euo pipefail
rsync -r "$YK_LAB_DIR/rsync-dirlinks/files/" /
systemctl daemon-reload
