#!/usr/bin/env bash
# The fix that worked on Ubuntu 18.04: reload AppArmor (2.12 cleared the cache on reload).
# On Debian 11/12 the reload loads the same stale cache again; the profile stays.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
echo "+ systemctl reload apparmor"
systemctl reload apparmor
echo "+ profiles for mariadbd now loaded:"
aa-status | grep -E '/usr/sbin/(mysqld|mariadbd)$' || echo "(none)"
ls /etc/apparmor.d/cache/usr.sbin.mysqld /var/cache/apparmor/*/usr.sbin.mysqld 2>/dev/null || echo "(no cache file)"
