#!/usr/bin/env bash
# verify: is the server fixed, judged by the cause, right after the fix and after a real reboot? Read-only.
# Fixed means (labs/apparmor-cache/README.md, "What counts as fixed"):
#   - AppArmor still on: enabled in the kernel, apparmor.service enabled and active;
#   - no process confined by a profile that no file under /etc/apparmor.d defines (a stale cache),
#     none in complain mode;
#   - mariadb reached `active` through its own readiness protocol: Type= and TimeoutStartSec=
#     as the package's unit has them, nothing overriding them;
#   - the organisers' checks: the boot finished, mariadb active, no DENIED line for the running
#     server (a fix replaces the denied one: the lines before it are history), the data intact.
# When mariadb's start job can never finish (its readiness socket DENIED), it says so at once.
set -uo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
# shellcheck source=provisioning/common/checks.sh
. "$YK_LAB_DIR/common/checks.sh"

# Certain failure: mariadb is activating and its main process was DENIED the unix datagram
# socket sd_notify needs, by the profile it runs under: READY=1 can never reach systemd.
yk_doomed() {
  local pid label task denied=""
  [ "$(systemctl show -p ActiveState --value mariadb)" = activating ] || return 0
  pid=$(systemctl show -p MainPID --value mariadb)
  [ "${pid:-0}" != 0 ] || return 0
  label=$(cat "/proc/$pid/attr/current" 2>/dev/null) || return 0
  # pid= in the audit line is the task that was denied: the main process or one of its threads.
  for task in $(yk_kernel_lines | grep -F "profile=\"${label% (*}\"" \
      | grep 'apparmor="DENIED".*family="unix" sock_type="dgram"' | sed -n 's/.* pid=\([0-9]*\) .*/\1/p' | sort -u); do
    [ "$task" = "$pid" ] || [ -d "/proc/$pid/task/$task" ] && denied=$task
  done
  [ -n "$denied" ] || return 0
  echo "mariadb.service is activating; its mariadbd (pid $pid) runs under the AppArmor profile" \
    "'$label', which DENIED it the unix datagram socket sd_notify needs, so READY=1 can never" \
    "reach systemd and the start job can only end at TimeoutStartSec"
}

check_boot
check "AppArmor" "on: kernel Y, apparmor.service enabled, active" \
  "on: kernel $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo missing), apparmor.service $(systemctl is-enabled apparmor 2>&1), $(systemctl is-active apparmor 2>&1)" \
  "switching AppArmor off hides the stale profile instead of removing it, and drops the protection"
stale=$(yk_sourceless_confinement)
check "processes confined by a profile no file under /etc/apparmor.d defines" none "${stale:-none}" \
  "a compiled profile from the cache, with no source: the stale profile is still in force"
complain=$(yk_confinement | grep ' (complain)$')
check "processes in AppArmor complain mode (logged, not enforced)" none "${complain:-none}" \
  "a profile in complain mode only logs what it would deny: the protection switched off for that process"
check "mariadb.service start settings" \
  "$(yk_packaged_start_settings mariadb.service /etc/systemd/system/mariadb.service.d/yarakashi-workshop.conf)" \
  "$(yk_effective_start_settings mariadb.service)" \
  "the server must reach active through its own readiness protocol, as its package's unit has it: a changed Type= or TimeoutStartSec= hides a readiness that never comes"
check "mariadb.service" active "$(systemctl is-active mariadb)" \
  "a unit that stays activating is stopped by systemd at TimeoutStartSec, even while queries work"
check "AppArmor DENIED lines for the database server since it started" 0 \
  "$(yk_kernel_count_since mariadb.service 'apparmor="DENIED".*profile="/usr/sbin/(mysqld|mariadbd)"')" \
  "a profile still confines the server and denies what it needs"
check "data written before the reboot" "$(cat /var/lib/yarakashi-lab/data.digest 2>/dev/null)" "$(yk_data_digest 2>&1)" \
  "the organisers' check reads the data the app wrote before the reboot"
exit "$fail"
