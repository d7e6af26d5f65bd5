#!/usr/bin/env bash
# break: the swap to MariaDB, as the team did it, then the data a reboot test checks.
#  1. The MariaDB side ships /etc/apparmor.d/usr.sbin.mysqld emptied, taking the file over
#     from the MySQL package (Conflicts/Replaces, as mariadb-server-10.1 did on Ubuntu).
#     dpkg gives it the package's 2020 mtime: older than the compiled cache.
#  2. mariadb-server from the box's own apt repo, not started yet (lib.sh says why).
#  3. What the well-known article says to do: aa-remove-unknown, then start MariaDB.
#  4. Data is written; everything looks healthy. Until the next reboot.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
here=$YK_LAB_DIR/apparmor-cache

deb=$(yk_build_deb mariadb-server-10.1-bionic 10.1.44-0ubuntu0.18.04.1 "MariaDB database server binaries" "2020-02-13 12:00:00" \
  $'Conflicts: mysql-server-5.7-bionic\nReplaces: mysql-server-5.7-bionic\n' "" \
  "$here/usr.sbin.mysqld.emptied:/etc/apparmor.d/usr.sbin.mysqld")
echo "+ dpkg -i --force-confnew $deb   (stands in for: the MariaDB package's emptied profile)"
dpkg -i --force-confnew "$deb"

yk_install_without_start mariadb-server mariadb-client   # from the box's own repo
yk_workaround_and_data
