# shellcheck shell=bash
# Sourced by the lab's steps: where the team's repository lives in the guest, and its deploy.
#
# Example:
#   . "$YK_LAB_DIR/rsync-dirlinks/lib.sh"
#   make_deploy   # `make deploy` in $TEAM_REPO as $TEAM_USER, its output and exit status
TEAM_USER=${TEAM_USER:-isucon}  # the contest's login, as the team had it
TEAM_REPO=/home/$TEAM_USER/isucon10-final

# The prepare step checks the repository out; a deploy without it stops here, saying so.
require_team_repo() {
  [ -d "$TEAM_REPO" ] || { echo "no team repository at $TEAM_REPO: run the prepare step first" >&2; exit 1; }
}

# `make deploy` as the team ran it: as the login user, the Makefile calling sudo itself.
make_deploy() {
  echo "$TEAM_USER@$(hostname):~/isucon10-final\$ make deploy"
  sudo -u "$TEAM_USER" -H make -C "$TEAM_REPO" --no-print-directory deploy
}
