# shellcheck shell=bash
# Read through BASH_ENV by a step's bash script (see run-step.sh): note every command that
# fails, with its line, in $YK_ERRLOG. Scripts the step starts do not inherit it.
unset BASH_ENV
# shellcheck disable=SC2154  # yk_rc is set inside the trap itself
trap 'yk_rc=$?; echo "line $LINENO: $BASH_COMMAND (exit $yk_rc)" >> "$YK_ERRLOG"' ERR
