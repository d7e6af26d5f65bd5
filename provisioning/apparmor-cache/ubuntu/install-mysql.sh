#!/usr/bin/env bash
# prepare on real Ubuntu: "MySQL is installed" with the real package (mysql-server-5.7 on
# 18.04, 8.0 on 20.04). Its postinst loads /etc/apparmor.d/usr.sbin.mysqld and writes the
# compiled cache (dh_apparmor). Needs the Ubuntu archive (a laptop with internet).
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
export DEBIAN_FRONTEND=noninteractive
yk_keep_every_audit_line
echo "+ apt-get install mysql-server"
apt-get update -q
apt-get install -y -q mysql-server
echo "+ the profile is loaded and its compiled cache written:"
aa-status | grep -F /usr/sbin/mysqld
# shellcheck disable=SC2086  # YK_CACHES holds globs
ls -l --time-style=+%F\ %T /etc/apparmor.d/usr.sbin.mysqld $YK_CACHES 2>/dev/null || true
