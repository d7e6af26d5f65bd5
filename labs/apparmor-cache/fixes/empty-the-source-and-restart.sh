#!/usr/bin/env bash
# expect: FAIL fix finished within its bound
# expect: FAIL mariadb.service
# fix-bound: 60
# why: right for the next boot only (an emptied source newer than its cache is compiled again, to nothing); the stale profile stays loaded now, so the restart hangs on the same denial and leaves the running server activating until TimeoutStartSec
set -euo pipefail
: > /etc/apparmor.d/usr.sbin.mysqld
systemctl restart mariadb
