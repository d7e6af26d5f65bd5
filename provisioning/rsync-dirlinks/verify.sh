#!/usr/bin/env bash
# verify: is the guest healthy after a deploy, judged by the cause? Read-only.
# Fixed means (labs/rsync-dirlinks/README.md, "What counts as fixed"):
#   - /lib is what the platform had: a symlink to usr/lib on merged /usr, a directory on split;
#   - dynamic binaries run, sshd included (a new SSH session is checked from the host: this
#     script runs in one, and on a guest the naive deploy broke it cannot even start);
#   - the deployed unit is the one systemd uses for mysql.service, wherever the deploy put it.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/checks.sh
. "$YK_LAB_DIR/common/checks.sh"
if [ "$(grep -s '^usr=' /etc/yarakashi-guest)" = "usr=merged" ]; then
  check "/lib" "symlink to usr/lib" "$( [ -L /lib ] && echo "symlink to $(readlink /lib)" || echo "a real directory")" \
    "on merged /usr every dynamic binary is found through /lib -> usr/lib"
else
  check "/lib" "a real directory" "$( [ -d /lib ] && [ ! -L /lib ] && echo "a real directory" || echo other)"
fi
check "ls / runs" 0 "$(ls / > /dev/null 2>&1; echo $?)" "a dynamic binary must run"
check "sshd -t (sshd can start)" 0 "$(/usr/sbin/sshd -t > /dev/null 2>&1; echo $?)" "without sshd no one gets in again"
# What the team deployed: s1/lib/systemd/system/mysql.service (~/isucon10-final) sets LimitNOFILE=10000.
deployed="LimitNOFILE=10000"
used="LimitNOFILE=$(systemctl show -p LimitNOFILE --value mysql.service 2> /dev/null)"
from=$(systemctl show -p FragmentPath --value mysql.service 2> /dev/null)
[ "$used" = "$deployed" ] || used="$used (${from:+from }${from:-no unit file})"
check "mysql.service as systemd loads it" "$deployed" "$used" \
  "the deploy must reach systemd: the unit systemd loads (FragmentPath, drop-ins) is the team's, wherever it was put"
check_boot
exit "$fail"
