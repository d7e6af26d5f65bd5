#!/usr/bin/env bash
# break: the swap to MariaDB, as the team did it, then the data a reboot test checks.
#  1. The MariaDB side ships /etc/apparmor.d/usr.sbin.mysqld emptied, taking the file over
#     from the MySQL package (Conflicts/Replaces, as mariadb-server-10.1 did on Ubuntu).
#     dpkg gives it the package's 2020 mtime: older than the compiled cache.
#  2. mariadb-server from the box's own apt repo. Started now, it would hang for 15 minutes
#     under the MySQL profile still in the kernel, so it starts only after step 3.
#  3. What the well-known article says to do: aa-remove-unknown, then start MariaDB.
#  4. Data is written; everything looks healthy. Until the next reboot.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
here=$YK_LAB_DIR/apparmor-cache
export DEBIAN_FRONTEND=noninteractive

deb=$(yk_build_deb yarakashi-mariadb-server-profile 10.1.44-0ubuntu0.18.04.1 "2020-02-13 12:00:00" \
  $'Conflicts: yarakashi-mysql-server\nReplaces: yarakashi-mysql-server\n' "" \
  "$here/usr.sbin.mysqld.emptied:/etc/apparmor.d/usr.sbin.mysqld")
echo "+ dpkg -i --force-confnew $deb   (stands in for: the MariaDB package's emptied profile)"
dpkg -i --force-confnew "$deb"

echo "+ apt-get install mariadb-server mariadb-client   (from the box's repo; start deferred)"
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -q mariadb-server mariadb-client > /var/log/yarakashi-apt.log 2>&1 \
  || { tail -n 30 /var/log/yarakashi-apt.log; exit 1; }
rm -f /usr/sbin/policy-rc.d

echo "+ aa-remove-unknown && systemctl start mariadb   (the article's workaround)"
aa-remove-unknown
systemctl start mariadb

echo "+ writing the data a reboot test checks"
yk_mysql -e "CREATE DATABASE IF NOT EXISTS $YK_DB; USE $YK_DB;
  CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY, name VARCHAR(64)) ENGINE=InnoDB;
  INSERT IGNORE INTO items SELECT seq, CONCAT('item-', seq) FROM seq_1_to_1000;"
mkdir -p /var/lib/yarakashi-lab
yk_data_digest | tee /var/lib/yarakashi-lab/data.digest
echo "+ healthy before the reboot: mariadb $(systemctl is-active mariadb), system $(systemctl is-system-running)"
ls -l --time-style=+%F\ %T /etc/apparmor.d/usr.sbin.mysqld /var/cache/apparmor/*/usr.sbin.mysqld
