#!/usr/bin/env bash
# verify: after a reboot, is the tuning safe? Read-only. Exit 0 when every check passes.
# A safe tuning keeps (labs/memory-engine/README.md, "What counts as fixed"):
#   - every table on InnoDB, and the data written before the reboot;
#   - memory headroom: the buffer pool at most half the RAM, 20% of memory available now;
#   - the kernel's last resort: mariadbd not exempt from the OOM killer (with oom_score_adj
#     -1000 the kernel can only kill everything else while the server keeps the memory);
#   - the organisers' checks: the boot finished, mariadb active, no OOM kill this boot.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/memory-engine/lib.sh
. "$YK_LAB_DIR/memory-engine/lib.sh"
# shellcheck source=provisioning/common/checks.sh
. "$YK_LAB_DIR/common/checks.sh"
check_boot
check "mariadb.service" active "$(systemctl is-active mariadb)" "the database must be up after the reboot"
check "processes the OOM killer killed this boot" 0 "$(yk_kernel_count 'Out of memory: Killed process')" \
  "the guest ran out of memory"
check "tables not on InnoDB" 0 \
  "$(yk_mysql -N -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$YK_DB' AND ENGINE <> 'InnoDB'" 2>&1)" \
  "MEMORY tables lose every row when the server stops"
check "data written before the reboot" "$(cat "$YK_DIGEST" 2>/dev/null)" "$(yk_data_digest 2>&1)" \
  "the organisers' check reads the data the app wrote before the reboot"
avail=$(awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} END {print (a * 100 >= t * 20) ? "yes" : "no (" int(a / 1024) " MiB of " int(t / 1024) " MiB)"}' /proc/meminfo)
check "at least 20% of memory available" yes "$avail" "without headroom the next load runs the guest out of memory"
pool=$(yk_mysql -N -e "SELECT @@innodb_buffer_pool_size" 2>&1)
check "innodb_buffer_pool_size at most half the RAM" yes \
  "$(awk -v pool="$pool" '/^MemTotal:/ {if (pool ~ /^[0-9]+$/) print (pool <= $2 * 1024 / 2) ? "yes" : "no (" int(pool / 1048576) " MiB of " int($2 / 1024) " MiB)"; else print pool}' /proc/meminfo)" \
  "the pool fills as the data is read; past half of a 1 GiB guest, sshd, the kernel and the app are left too little"
pid=$(systemctl show -p MainPID --value mariadb)
check "mariadbd exempt from the OOM killer" no \
  "$(score=$(cat "/proc/${pid:-0}/oom_score_adj" 2> /dev/null) && { [ "$score" = -1000 ] && echo "yes (oom_score_adj -1000)" || echo no; } || echo no)" \
  "a protection switched off: when memory runs out the kernel can only kill everything else (the app, your login shell) while the server keeps the memory"
exit "$fail"
