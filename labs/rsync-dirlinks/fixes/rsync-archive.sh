#!/usr/bin/env bash
# expect: FAIL new SSH session
# why: archive mode keeps symlinks in the source, not those on the receiving side: /lib is replaced all the same
set -euo pipefail
rsync -a "$YK_LAB_DIR/rsync-dirlinks/files/" /
systemctl daemon-reload
