#!/usr/bin/env bash
# fix: throw away the compiled cache, unload the stale profile, restart MariaDB.
# On Debian 11/12 `systemctl reload apparmor` keeps the cache (it is a cache hit), so the
# cache has to go by hand; on Ubuntu 18.04 (AppArmor 2.12) a reload cleared it. This script
# works on both: 2.12 keeps its cache in /etc/apparmor.d/cache, later ones in /var/cache/apparmor.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
echo "+ apparmor_parser --purge-cache"
apparmor_parser --purge-cache 2>/dev/null || rm -rf /var/cache/apparmor/* /etc/apparmor.d/cache/*
echo "+ aa-remove-unknown"
aa-remove-unknown
echo "+ systemctl restart mariadb"
timeout 300 systemctl restart mariadb
echo "mariadb: $(systemctl is-active mariadb)"
