#!/usr/bin/env bash
# expect: FAIL processes confined by a profile no file under /etc/apparmor.d defines
# expect: FAIL mariadb.service
# fix-bound: 90
# why: the post's fix on Ubuntu 18.04 (AppArmor 2.12 cleared its cache on reload); 2.13 and later keep the cache, and the restart hangs on the same denial
set -euo pipefail
systemctl reload apparmor
systemctl restart mariadb
