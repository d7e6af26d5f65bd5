# shellcheck shell=bash
# Helpers shared by the apparmor-cache steps (sourced after guard.sh).

# The data a team writes before its reboot test, and a digest to find it again.
YK_DB=isucon
yk_mysql() { mysql --protocol=socket -uroot "$@"; }
yk_data_digest() { yk_mysql -N -e "SELECT COUNT(*), SUM(CRC32(name)) FROM $YK_DB.items"; }

# With no audit daemon the kernel prints each AppArmor audit line only while printk_ratelimit()
# allows (kauditd_printk_skb in kernel/audit.c, Linux 6.1 as Debian 12 ships it): 10 lines in
# 5 s by default, shared with the STATUS line of every profile loaded at boot. A denial dropped there is missing
# from dmesg and the journal alike; an interval of 0 turns that limit off (kernel
# Documentation/admin-guide/sysctl/kernel.rst, printk_ratelimit).
yk_keep_every_audit_line() {
  echo "kernel.printk_ratelimit = 0" > /etc/sysctl.d/60-printk-ratelimit.conf
  sysctl -q -w kernel.printk_ratelimit=0
}

# Build a .deb from a directory tree at provision time; file mtimes are kept as given,
# the way dpkg restores them from a package built years ago. Its name and description read as
# a package built on the server would in `dpkg -l`: nothing there says the lab planted it.
#   yk_build_deb NAME VERSION DESCRIPTION MTIME CONTROL_EXTRA POSTINST FILE:DEST [FILE:DEST...]
yk_build_deb() {
  local name=$1 version=$2 description=$3 mtime=$4 extra=$5 postinst=$6; shift 6
  local root; root=$(mktemp -d)
  mkdir -p "$root/DEBIAN"
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: root <root@localhost>\n%sDescription: %s\n' \
    "$name" "$version" "$extra" "$description" > "$root/DEBIAN/control"
  local spec
  for spec in "$@"; do
    install -D -m 0644 "${spec%%:*}" "$root/${spec#*:}"
    touch -d "$mtime" "$root/${spec#*:}"
    echo "${spec#*:}" >> "$root/DEBIAN/conffiles"
  done
  if [ -n "$postinst" ]; then
    printf '#!/bin/sh\nset -e\n%s\n' "$postinst" > "$root/DEBIAN/postinst"
    chmod 0755 "$root/DEBIAN/postinst"
  fi
  dpkg-deb --root-owner-group -b "$root" "/var/cache/$name.deb" > /dev/null
  rm -rf "$root"
  echo "/var/cache/$name.deb"
}

# apt-get install without starting any service: MariaDB started under the MySQL profile
# still in the kernel would hang here for TimeoutStartSec (15 minutes).
yk_install_without_start() {
  echo "+ apt-get install $*   (services not started)"
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" > /root/yarakashi-apt.log 2>&1 \
    || { rm -f /usr/sbin/policy-rc.d; tail -n 30 /root/yarakashi-apt.log; return 1; }
  rm -f /usr/sbin/policy-rc.d
}

# What the well-known article says to do when MariaDB will not start, then the data a
# reboot test checks. Everything looks healthy afterwards - until the next reboot.
yk_workaround_and_data() {
  # The app on s1 connects over the network: the contest's DB server took connections from
  # the other servers (MariaDB listens on 127.0.0.1 only as Debian and Ubuntu ship it).
  printf '[mysqld]\nbind-address = 0.0.0.0\n' > /etc/mysql/mariadb.conf.d/60-isucon.cnf
  echo "+ aa-remove-unknown && systemctl start mariadb   (the article's workaround)"
  aa-remove-unknown
  systemctl start mariadb
  echo "+ writing the data a reboot test checks, and the app's user"
  yk_mysql -e "CREATE DATABASE IF NOT EXISTS $YK_DB; USE $YK_DB;
    CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY, name VARCHAR(64)) ENGINE=InnoDB;
    INSERT IGNORE INTO items SELECT seq, CONCAT('item-', seq) FROM seq_1_to_1000;
    CREATE USER IF NOT EXISTS 'isucon'@'%' IDENTIFIED BY 'isucon';
    GRANT ALL ON $YK_DB.* TO 'isucon'@'%';"
  mkdir -p /var/lib/yarakashi-lab
  yk_data_digest | tee /var/lib/yarakashi-lab/data.digest
  echo "+ healthy before the reboot: mariadb $(systemctl is-active mariadb), system $(systemctl is-system-running)"
  # shellcheck disable=SC2086  # YK_CACHES holds globs
  ls -l --time-style=+%F\ %T /etc/apparmor.d/usr.sbin.mysqld $YK_CACHES 2>/dev/null || true
}

# Where AppArmor keeps compiled profiles: /etc/apparmor.d/cache (2.12, Ubuntu 18.04) or
# /var/cache/apparmor/<features hash>.0 (2.13 and later).
YK_CACHES="/etc/apparmor.d/cache/usr.sbin.mysqld /var/cache/apparmor/*/usr.sbin.mysqld"

# The profile names the files under /etc/apparmor.d define (those linked in disable/ left out).
yk_defined_profiles() {
  local f
  for f in /etc/apparmor.d/*; do
    if [ ! -f "$f" ] || [ -e "/etc/apparmor.d/disable/${f##*/}" ]; then continue; fi
    apparmor_parser -N "$f" 2> /dev/null
  done | sort -u
}

# "comm (pid N): label" for each confined process.
yk_confinement() {
  local d label
  for d in /proc/[0-9]*; do
    label=$(cat "$d/attr/current" 2> /dev/null) || continue
    case $label in unconfined | "") continue ;; esac
    echo "$(cat "$d/comm" 2> /dev/null) (pid ${d#/proc/}): $label"
  done
}

# The same, for each process confined by a profile no source defines.
yk_sourceless_confinement() {
  local defined line name
  defined=$(yk_defined_profiles)
  yk_confinement | while IFS= read -r line; do
    name=${line#*): }; name=${name% (*}; name=${name%%//*}
    grep -qxF -- "$name" <<< "$defined" || echo "$line"
  done
}

# Type= and TimeoutStartSec= as the unit file of the package that owns UNIT has them (900 s
# for MariaDB: its mariadb.service), with the lab's own drop-ins given after it on top (the
# workshop's shorter TimeoutStartSec); and as systemd runs the unit now (every drop-in included).
yk_packaged_start_settings() {
  local file type timeout f v
  file=$(dpkg -S "systemd/system/$1" 2> /dev/null | sed -n 's/^[^:]*: //p' | head -n 1)
  [ -n "$file" ] || { echo "no package ships $1"; return; }
  for f in "$file" "${@:2}"; do
    [ -f "$f" ] || continue
    v=$(sed -n 's/^[[:space:]]*Type=//p' "$f" | tail -n 1); type=${v:-${type:-}}
    v=$(sed -n 's/^[[:space:]]*TimeoutStartSec=//p' "$f" | tail -n 1); timeout=${v:-${timeout:-}}
  done
  echo "Type=${type:-simple} TimeoutStartSec=$(yk_seconds "${timeout:-90}")"
}
yk_effective_start_settings() {
  echo "Type=$(systemctl show -p Type --value "$1") TimeoutStartSec=$(yk_seconds "$(systemctl show -p TimeoutStartUSec --value "$1")")"
}
# A systemd time span as seconds ("15min" -> 900s, "900" -> 900s, "infinity" stays).
yk_seconds() {
  local us
  us=$(systemd-analyze timespan "$1" 2> /dev/null | awk 'NR == 2 {print $2}')  # "μs: N" (or "us: N")
  case $us in
    18446744073709551615) echo infinity ;;
    '' | *[!0-9]*) echo "$1" ;;
    *) echo "$(( us / 1000000 ))s" ;;
  esac
}
