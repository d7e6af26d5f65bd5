#!/usr/bin/env bash
# expect: PASS
# why: the long option and archive mode: --keep-dirlinks follows /lib -> usr/lib on the receiving side
set -euo pipefail
rsync -a --keep-dirlinks "$YK_LAB_DIR/rsync-dirlinks/files/" /
systemctl daemon-reload
