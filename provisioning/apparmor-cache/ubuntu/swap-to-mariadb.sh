#!/usr/bin/env bash
# break on real Ubuntu: the real swap. mariadb-server Conflicts/Replaces mysql-server and ships
# /etc/apparmor.d/usr.sbin.mysqld emptied, with the package's (older) mtime. Then the article's
# workaround and the data, as on the Debian stand-in.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
yk_install_without_start mariadb-server mariadb-client
yk_workaround_and_data
