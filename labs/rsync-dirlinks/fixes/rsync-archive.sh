#!/usr/bin/env bash
# expect: FAIL new SSH session
# why: archive mode keeps symlinks in the source, not those on the receiving side: /lib is replaced all the same
set -euo pipefail
cd /home/isucon/isucon10-final   # the team's repository (prepare checked it out)
rsync -a s1/ /
systemctl daemon-reload
