#!/usr/bin/env bash
# verify: after a reboot, is the database up, on a disk engine, with the data written before,
# and does the guest have memory to spare? Exit 0 when every check passes. Read-only.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/memory-engine/lib.sh
. "$YK_LAB_DIR/memory-engine/lib.sh"
# shellcheck source=provisioning/common/checks.sh
. "$YK_LAB_DIR/common/checks.sh"
check_boot
check "mariadb.service" active "$(systemctl is-active mariadb)" "the database must be up after the reboot"
check "processes the OOM killer killed this boot" 0 "$(journalctl -k -b --no-pager | grep -c 'Out of memory: Killed process')" \
  "the guest ran out of memory"
check "tables not on InnoDB" 0 \
  "$(yk_mysql -N -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$YK_DB' AND ENGINE <> 'InnoDB'" 2>&1)" \
  "MEMORY tables lose every row when the server stops"
check "data written before the reboot" "$(cat "$YK_DIGEST" 2>/dev/null)" "$(yk_data_digest 2>&1)" \
  "the organisers' check reads the data the app wrote before the reboot"
avail=$(awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} END {print (a * 100 >= t * 20) ? "yes" : "no (" int(a / 1024) " MiB of " int(t / 1024) " MiB)"}' /proc/meminfo)
check "at least 20% of memory available" yes "$avail" "without headroom the next load runs the guest out of memory"
exit "$fail"
