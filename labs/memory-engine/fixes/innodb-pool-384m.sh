#!/usr/bin/env bash
# expect: PASS
# why: a bigger pool that still leaves the guest more than half its memory
set -euo pipefail
printf '[mysqld]\ninnodb_buffer_pool_size = 384M\n' > /etc/mysql/mariadb.conf.d/95-pool.cnf
systemctl restart mariadb
