#!/usr/bin/env bash
# expect: FAIL processes confined by a profile no file under /etc/apparmor.d defines
# expect: FAIL mariadb.service
# why: a one-boot workaround (the well-known article's): the cache still loads the stale profile at the next boot
set -euo pipefail
aa-remove-unknown
systemctl restart mariadb
