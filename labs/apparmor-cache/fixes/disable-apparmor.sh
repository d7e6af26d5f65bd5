#!/usr/bin/env bash
# expect: FAIL AppArmor
# why: switches the protection off: no profile is loaded at boot, so neither is the stale one
set -euo pipefail
systemctl disable apparmor
aa-teardown
systemctl restart mariadb
