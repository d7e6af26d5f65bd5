# shellcheck shell=bash disable=SC2034  # fail is read by the script that sources this
# Sourced by the read-only verify scripts: one line per check, for a person (PASS/FAIL) or,
# with YK_VERIFY_JSON=1, for the host (one JSON object a line: yarakashi/verdict.py reads it).
#
#   check NAME EXPECTED ACTUAL [REASON]   passes when ACTUAL is EXPECTED; REASON says why it matters
#   check_boot                            systemctl is-system-running --wait, bounded by YK_VERIFY_WAIT (300 s)
#   exit "$fail"                          at the end: 0 when every check passed
fail=0
yk_json() {  # $1 as a JSON string
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/}
  s=${s//[$'\001'-$'\037']/?}
  printf '"%s"' "$s"
}
check() {
  local passed=true
  [ "$2" = "$3" ] || { passed=false; fail=1; }
  if [ "${YK_VERIFY_JSON:-0}" = 1 ]; then
    printf '{"check": %s, "expected": %s, "observed": %s, "passed": %s, "reason": %s}\n' \
      "$(yk_json "$1")" "$(yk_json "$2")" "$(yk_json "$3")" "$passed" "$(yk_json "${4:-}")"
  elif [ "$passed" = true ]; then
    echo "PASS $1: $3"
  else
    echo "FAIL $1: expected '$2', got '$3'${4:+ ($4)}"
  fi
}
check_boot() {
  local wait=${YK_VERIFY_WAIT:-300} system
  system=$(timeout "$wait" systemctl is-system-running --wait 2>/dev/null)
  check "systemctl is-system-running --wait (bounded $wait s)" running "${system:-still starting}" \
    "the boot must finish: a unit still starting or failed is what the organisers' reboot test finds"
}
