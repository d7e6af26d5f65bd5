#!/usr/bin/env bash
# break: "put every table in memory, it will be faster" - the qualifier's one-liner.
# Raises max_heap_table_size to the team's 1G (otherwise MEMORY tables stop at 16 MB: "The table is full"),
# then converts every table with ALTER TABLE ... ENGINE=MEMORY, in the background, the way it
# was typed into a tmux window. Returns at once: watch the guest stop answering.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/memory-engine/lib.sh
. "$YK_LAB_DIR/memory-engine/lib.sh"

rm -f "$YK_INNODB_CNF"
printf '[mysqld]\n# so that MEMORY tables do not stop at 16 MB\nmax_heap_table_size = 1G\ntmp_table_size = 1G\n' > "$YK_MEMORY_CNF"
echo "+ $YK_MEMORY_CNF:"; cat "$YK_MEMORY_CNF"
systemctl restart mariadb
yk_tables
yk_memory
tables=$(yk_mysql -N -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$YK_DB' ORDER BY TABLE_NAME")
alter=""
for t in $tables; do
  alter+="echo \"\$(date +%T) ALTER TABLE $YK_DB.$t ENGINE=MEMORY\"; "
  alter+="mysql --protocol=socket -uroot -e 'ALTER TABLE $YK_DB.$t ENGINE=MEMORY'; rc=\$?; "
  alter+="echo \"\$(date +%T) exit \$rc\"; "
done
# Bounded: systemd stops the ALTERs after 15 minutes whatever happens.
systemd-run --unit=yarakashi-alter --collect -p RuntimeMaxSec=900 \
  -p StandardOutput=append:/var/log/yarakashi-alter.log -p StandardError=append:/var/log/yarakashi-alter.log \
  bash -c "$alter"
echo "+ ALTER TABLE ... ENGINE=MEMORY for: ${tables//$'\n'/ }"
echo "  running in the background (unit yarakashi-alter, log /var/log/yarakashi-alter.log)."
echo "  Now try a new SSH session (invoke lab.ssh memory-engine) and a query."
