# shellcheck shell=bash disable=SC2034  # fail is read by the script that sources this
# Sourced by the read-only verify scripts: one PASS/FAIL line per check.
#
#   check NAME EXPECTED ACTUAL   a PASS line, or a FAIL line that sets fail=1
#   check_boot                   systemctl is-system-running --wait, bounded by YK_VERIFY_WAIT (300 s)
#   exit "$fail"                 at the end: 0 when every check passed
fail=0
check() {
  if [ "$2" = "$3" ]; then echo "PASS $1: $3"; else echo "FAIL $1: expected '$2', got '$3'"; fail=1; fi
}
check_boot() {
  local wait=${YK_VERIFY_WAIT:-300} system
  system=$(timeout "$wait" systemctl is-system-running --wait 2>/dev/null)
  check "systemctl is-system-running --wait (bounded $wait s)" running "${system:-still starting}"
}
