#!/usr/bin/env bash
# A wrong fix: unload the stale profile and restart. MariaDB comes up - and the cache,
# still newer than the emptied profile, puts the profile back at the next boot.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
echo "+ aa-remove-unknown"
aa-remove-unknown
echo "+ systemctl restart mariadb"
timeout 300 systemctl restart mariadb
echo "mariadb: $(systemctl is-active mariadb)"
