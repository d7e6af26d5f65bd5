#!/usr/bin/env bash
# expect: PASS
# why: GNU tar's --keep-directory-symlink writes through /lib -> usr/lib instead of replacing it
set -euo pipefail
tar -C "$YK_LAB_DIR/rsync-dirlinks/files" -cf - . | tar -C / --keep-directory-symlink --no-same-owner -xf -
systemctl daemon-reload
