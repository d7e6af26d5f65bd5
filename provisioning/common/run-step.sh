#!/usr/bin/env bash
# Runs one lab step in the guest (Vagrant's shell provisioner calls it as root) and says
# how the step ended, in a line the host reads from the Vagrant log:
#   [yarakashi] step fix exited 1 (last failed command: line 7: cp -r files/. / (exit 1))
#   [yarakashi] step fix exited 124 (did not finish within 300 s)
# BOUND (seconds, 0: none) ends a step that runs too long (timeout: SIGTERM, SIGKILL 10 s later).
# Bash scripts get an ERR trap through BASH_ENV (common/errline.sh) that notes each failed
# command. Only builtins run after the step: it may have broken every binary (rsync-dirlinks).
#
# Example: run-step.sh fix /home/vagrant/yarakashi-steps/fix 300
set -u
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
phase=$1 script=$2 bound=${3:-0}
export YK_ERRLOG=/run/yarakashi-step-$phase.err
: > "$YK_ERRLOG"
first=""
read -r first < "$script"
if [[ $first == '#!'* ]]; then
  read -ra interpreter <<< "${first#\#!}"
else
  interpreter=(bash)
fi
bounded=()
[ "$bound" -gt 0 ] && bounded=(timeout --kill-after=10 "$bound")
BASH_ENV=$YK_LAB_DIR/common/errline.sh "${bounded[@]}" "${interpreter[@]}" "$script"
rc=$?
late=""
[ "$bound" -gt 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && late=" (did not finish within $bound s)"
last=""
while IFS= read -r line; do last=$line; done < "$YK_ERRLOG"
echo "[yarakashi] step $phase exited $rc$late${last:+ (last failed command: $last)}"
exit "$rc"
