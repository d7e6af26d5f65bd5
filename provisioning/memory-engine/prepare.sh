#!/usr/bin/env bash
# prepare: MariaDB and the isuumo-like database, InnoDB, as the contest handed it out.
# Healthy: the data is small on disk and the guest has plenty of memory left.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/memory-engine/lib.sh
. "$YK_LAB_DIR/memory-engine/lib.sh"

# The console's way out of a machine that thrashes without swap: Alt+SysRq+F calls the OOM
# killer at once (Debian's default kernel.sysrq=438 leaves out the signalling keys).
echo "kernel.sysrq = 1" > /etc/sysctl.d/90-yarakashi-sysrq.conf
sysctl -q -p /etc/sysctl.d/90-yarakashi-sysrq.conf
echo "+ apt-get install mariadb-server mariadb-client"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client > /root/yarakashi-apt.log 2>&1 \
  || { tail -n 30 /root/yarakashi-apt.log; exit 1; }
systemctl enable --now mariadb
yk_create_schema
yk_insert_rows
mkdir -p "$(dirname "$YK_DIGEST")"
yk_data_digest | tee "$YK_DIGEST"
yk_tables
yk_memory
