#!/usr/bin/env bash
# prepare: the new server as the team found it before its first deploy. The contest's user
# (isucon, with sudo as the contest gave it) and MySQL's config directory exist; the team's
# repository is checked out in its home (~isucon/isucon10-final: Makefile, s1/), ready for
# `make deploy`, whose Makefile calls sudo itself.
# Idempotent: a repository already there is left as it is (a trainee may have edited it).
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/rsync-dirlinks/lib.sh
. "$YK_LAB_DIR/rsync-dirlinks/lib.sh"
id isucon > /dev/null 2>&1 || useradd --create-home --shell /bin/bash isucon
printf 'isucon ALL=(ALL) NOPASSWD:ALL\n' > /etc/sudoers.d/isucon && chmod 0440 /etc/sudoers.d/isucon
mkdir -p /etc/mysql/conf.d
# The real Ubuntu boxes may lack make; the offline boxes carry it (platforms.toml).
command -v make > /dev/null || { apt-get update -q && apt-get install -y -q make; }
if [ ! -d "$TEAM_REPO" ]; then
  cp -a "$YK_LAB_DIR/rsync-dirlinks/isucon10-final" "$TEAM_REPO"
  chown -R "$TEAM_USER:$TEAM_USER" "$TEAM_REPO"
fi
echo "the team's repository: $TEAM_REPO ($(cd "$TEAM_REPO" && echo *))"
