#!/usr/bin/env bash
# prepare: "MySQL is installed". A package ships /etc/apparmor.d/usr.sbin.mysqld and its
# postinst loads the profile and writes the compiled cache, as dh_apparmor does
# (apparmor_parser -r -T -W). The profile's mtime is that of the 2020 package.
#
# The profile (usr.sbin.mysqld beside this script) is the lab's stand-in for the one
# mysql-server-5.7 shipped on Ubuntu 18.04. It confines the binary MariaDB really runs
# (AppArmor attaches by resolved path, and /usr/sbin/mysqld -> mariadbd), and it has no
# "network unix dgram" rule: MariaDB's unit is Type=notify, and mariadbd's READY=1 on
# /run/systemd/notify, a unix datagram socket, is denied. Why the stand-in differs from
# Ubuntu's own profile: docs/sources.md. The explanation stays here, out of the installed
# file: anyone on the guest can read /etc/apparmor.d.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/apparmor-cache/lib.sh
. "$YK_LAB_DIR/apparmor-cache/lib.sh"
here=$YK_LAB_DIR/apparmor-cache
yk_keep_every_audit_line

deb=$(yk_build_deb mysql-server-5.7-bionic 5.7.31-0ubuntu0.18.04.1 "MySQL database server binaries and system database setup" \
  "2020-07-21 12:00:00" "" \
  "apparmor_parser -r -T -W /etc/apparmor.d/usr.sbin.mysqld" \
  "$here/usr.sbin.mysqld:/etc/apparmor.d/usr.sbin.mysqld")
echo "+ dpkg -i $deb   (stands in for: apt-get install mysql-server-5.7)"
dpkg -i "$deb"
echo "+ the profile is loaded and its compiled cache written:"
aa-status | grep -F /usr/sbin/mariadbd
# shellcheck disable=SC2086  # YK_CACHES holds globs
ls -l --time-style=+%F\ %T /etc/apparmor.d/usr.sbin.mysqld $YK_CACHES 2>/dev/null || true
