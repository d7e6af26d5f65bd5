#!/usr/bin/env bash
# expect: FAIL new SSH session
# exits: 127
# why: the deploy of the day: rsync -r replaces the /lib symlink with a directory holding one unit file
set -euo pipefail
cd /home/isucon/isucon10-final   # the team's repository (prepare checked it out)
rsync -r s1/ /
systemctl daemon-reload
