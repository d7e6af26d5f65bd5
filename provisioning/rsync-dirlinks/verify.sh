#!/usr/bin/env bash
# verify: is the guest healthy after a deploy? Exit 0 when every check passes. Read-only.
# (On a guest the naive deploy broke, this script cannot even start: that is a FAIL too.)
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/checks.sh
. "$YK_LAB_DIR/common/checks.sh"
if [ "$(grep -s '^usr=' /etc/yarakashi-guest)" = "usr=merged" ]; then
  check "/lib" "symlink to usr/lib" "$( [ -L /lib ] && echo "symlink to $(readlink /lib)" || echo "a real directory")" \
    "on merged /usr every dynamic binary is found through /lib -> usr/lib"
  check "unit file" present "$( [ -f /usr/lib/systemd/system/mysql.service ] && echo present || echo missing)"
else
  check "/lib" "a real directory" "$( [ -d /lib ] && [ ! -L /lib ] && echo "a real directory" || echo other)"
  check "unit file" present "$( [ -f /lib/systemd/system/mysql.service ] && echo present || echo missing)"
fi
check "ls / runs" 0 "$(ls / > /dev/null 2>&1; echo $?)" "a dynamic binary must run"
check_boot
exit "$fail"
