#!/usr/bin/env bash
# Runs one lab step in the guest (Vagrant's shell provisioner calls it as root) and says
# how the step ended, in a line the host reads from the Vagrant log:
#   [yarakashi] step fix exited 1 (last failed command: line 7: cp -r files/. / (exit 1))
# Bash scripts get an ERR trap through BASH_ENV (common/errline.sh) that notes each failed
# command. Only builtins run after the step: it may have broken every binary (rsync-dirlinks).
#
# Example: run-step.sh fix /home/vagrant/yarakashi-steps/fix
set -u
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
phase=$1 script=$2
export YK_ERRLOG=/run/yarakashi-step-$phase.err
: > "$YK_ERRLOG"
first=""
read -r first < "$script"
if [[ $first == '#!'* ]]; then
  read -ra interpreter <<< "${first#\#!}"
else
  interpreter=(bash)
fi
BASH_ENV=$YK_LAB_DIR/common/errline.sh "${interpreter[@]}" "$script"
rc=$?
last=""
while IFS= read -r line; do last=$line; done < "$YK_ERRLOG"
echo "[yarakashi] step $phase exited $rc${last:+ (last failed command: $last)}"
exit "$rc"
