# shellcheck shell=bash disable=SC2034  # fail is read by the script that sources this
# Sourced by the read-only verify scripts: one line per check, for a person (PASS/FAIL) or,
# with YK_VERIFY_JSON=1, for the host (one JSON object a line: yarakashi/verdict.py reads it).
#
#   check NAME EXPECTED ACTUAL [REASON]   passes when ACTUAL is EXPECTED; REASON says why it matters
#   check_that NAME EXPECTED ACTUAL PASSED [REASON]   PASSED (true|false) decided by the caller
#   yk_kernel_count ERE                   this boot's kernel lines matching ERE (ring buffer or journal)
#   yk_kernel_count_since UNIT ERE        the same, only those logged since UNIT's main process started
#   check_boot                            the boot finished (YK_VERIFY_WAIT bounds it, 300 s); a lab's
#                                         yk_doomed() that prints a reason ends the wait early: certain FAIL
#   exit "$fail"                          at the end: 0 when every check passed
fail=0
# This boot's kernel lines, text only: the ring buffer's, then the journal's (a line may stand
# twice). journald stalled or killed under memory pressure misses lines the ring buffer holds;
# the ring buffer overwrites its oldest lines, which the journal keeps (yarakashi/kernlog.py).
yk_kernel_lines() {
  dmesg 2>/dev/null | sed 's/^\[[ 0-9.]*\] //'
  journalctl -k -b -q --no-pager -o cat 2>/dev/null
}
# How many of this boot's kernel lines match the extended regex $1, in whichever record holds more.
yk_kernel_count() {
  local ring journal
  ring=$(dmesg 2>/dev/null | grep -cE -- "$1")
  journal=$(journalctl -k -b -q --no-pager -o cat 2>/dev/null | grep -cE -- "$1")
  echo $(( ring > journal ? ring : journal ))
}
# The same count, only the lines the kernel stamped at or after the start of UNIT's running main
# process (its ExecMainStartTimestampMonotonic, CLOCK_MONOTONIC as the kernel's stamps count
# from boot): right after a fix, the lines of the server that the fix replaced are history.
yk_kernel_count_since() {
  local since ring journal
  since=$(systemctl show -p ExecMainStartTimestampMonotonic --value "$1" 2>/dev/null)
  since=$(awk -v us="${since:-0}" 'BEGIN { printf "%.6f", us / 1000000 }')
  ring=$(dmesg 2>/dev/null | yk_stamped_since "$since" | grep -cE -- "$2")
  journal=$(journalctl -k -b -q --no-pager -o short-monotonic 2>/dev/null | yk_stamped_since "$since" | grep -cE -- "$2")
  echo $(( ring > journal ? ring : journal ))
}
yk_stamped_since() {  # the lines stamped "[seconds.micro]" at or after $1 seconds after boot
  awk -v s="$1" 'match($0, /^\[ *[0-9]+\.[0-9]+\]/) { if (substr($0, 2, RLENGTH - 2) + 0 >= s) print }'
}
yk_json() {  # $1 as a JSON string
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/}
  s=${s//[$'\001'-$'\037']/?}
  printf '"%s"' "$s"
}
check() {
  check_that "$1" "$2" "$3" "$( [ "$2" = "$3" ] && echo true || echo false)" "${4:-}"
}
check_that() {  # NAME EXPECTED OBSERVED true|false [REASON]: when the caller decides what passes
  [ "$4" = true ] || fail=1
  if [ "${YK_VERIFY_JSON:-0}" = 1 ]; then
    printf '{"check": %s, "expected": %s, "observed": %s, "passed": %s, "reason": %s}\n' \
      "$(yk_json "$1")" "$(yk_json "$2")" "$(yk_json "$3")" "$4" "$(yk_json "${5:-}")"
  elif [ "$4" = true ]; then
    echo "PASS $1: $3"
  else
    echo "FAIL $1: expected '$2', got '$3'${5:+ ($5)}"
  fi
}
check_boot() {
  # Polls `systemctl is-system-running` (the state --wait waits for). When the lab's verify
  # script defines yk_doomed and it prints a reason, the boot can never finish: the verdict is
  # given at once, saying so, instead of after the whole bound.
  local wait=${YK_VERIFY_WAIT:-300} start=$SECONDS state doomed="" seen
  while :; do
    state=$(systemctl is-system-running 2>/dev/null)
    case $state in initializing|starting) ;; *) break ;; esac
    if declare -F yk_doomed > /dev/null; then doomed=$(yk_doomed) && [ -n "$doomed" ] && break; fi
    (( SECONDS - start >= wait )) && break
    sleep 2
  done
  case $state in
    initializing|starting)
      if [ -n "$doomed" ]; then
        seen="$state after $(( SECONDS - start )) s and certain never to finish, not waiting out $wait s: $doomed"
      else
        seen="$state after the whole $wait s"
      fi ;;
    *) seen="${state:-unknown}$( (( SECONDS - start > 2 )) && echo " after $(( SECONDS - start )) s of waiting")" ;;
  esac
  check_that "boot finished (systemctl is-system-running)" running "$seen" "$( [ "$state" = running ] && echo true || echo false)" \
    "the boot must finish: a unit still starting or failed is what the organisers' reboot test finds"
}
