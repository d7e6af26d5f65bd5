#!/usr/bin/env bash
# verify: what the organisers' reboot test needs, checked inside the guest after a reboot.
# Exit 0 when every check passes. Read-only.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "PASS $1: $3"; else echo "FAIL $1: expected '$2', got '$3'"; fail=1; fi
}
system=$(timeout "${YK_VERIFY_WAIT:-300}" systemctl is-system-running --wait 2>/dev/null)
check "systemctl is-system-running --wait (bounded ${YK_VERIFY_WAIT:-300} s)" running "${system:-still starting}"
check "mariadb.service" active "$(systemctl is-active mariadb)"
check "AppArmor DENIED lines for the database server this boot" 0 \
  "$(journalctl -k -b --no-pager | grep -cE 'apparmor="DENIED".*profile="/usr/sbin/(mysqld|mariadbd)"')"
check "data written before the reboot" "$(cat /var/lib/yarakashi-lab/data.digest 2>/dev/null)" "$(yk_data_digest 2>&1)"
exit "$fail"
