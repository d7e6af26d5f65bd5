#!/usr/bin/env bash
# verify: what the organisers' reboot test needs, checked inside the guest after a reboot.
# Exit 0 when every check passes. Read-only.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
# shellcheck source=provisioning/common/checks.sh
. "$YK_LAB_DIR/common/checks.sh"
check_boot
check "mariadb.service" active "$(systemctl is-active mariadb)" \
  "a unit that stays activating is stopped by systemd at TimeoutStartSec, even while queries work"
check "AppArmor DENIED lines for the database server this boot" 0 \
  "$(journalctl -k -b --no-pager | grep -cE 'apparmor="DENIED".*profile="/usr/sbin/(mysqld|mariadbd)"')" \
  "a profile still confines the server and denies what it needs"
check "data written before the reboot" "$(cat /var/lib/yarakashi-lab/data.digest 2>/dev/null)" "$(yk_data_digest 2>&1)" \
  "the organisers' check reads the data the app wrote before the reboot"
exit "$fail"
