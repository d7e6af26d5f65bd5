# shellcheck shell=bash
# Helpers shared by the apparmor-cache steps (sourced after guard.sh).

# The data a team writes before its reboot test, and a digest to find it again.
YK_DB=isucon
yk_mysql() { mysql --protocol=socket -uroot "$@"; }
yk_data_digest() { yk_mysql -N -e "SELECT COUNT(*), SUM(CRC32(name)) FROM $YK_DB.items"; }

# Build a .deb from a directory tree at provision time; file mtimes are kept as given,
# the way dpkg restores them from a package built years ago.
#   yk_build_deb NAME VERSION MTIME CONTROL_EXTRA POSTINST FILE:DEST [FILE:DEST...]
yk_build_deb() {
  local name=$1 version=$2 mtime=$3 extra=$4 postinst=$5; shift 5
  local root; root=$(mktemp -d)
  mkdir -p "$root/DEBIAN"
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: yarakashi <lab@yarakashi.invalid>\n%sDescription: yarakashi lab package %s\n' \
    "$name" "$version" "$extra" "$name" > "$root/DEBIAN/control"
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
