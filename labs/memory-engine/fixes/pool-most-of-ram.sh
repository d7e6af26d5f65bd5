#!/usr/bin/env bash
# expect: FAIL innodb_buffer_pool_size at most half the RAM
# why: passes right after the reboot (the pool fills lazily) and runs the guest out of memory once the data is read
set -euo pipefail
printf '[mysqld]\ninnodb_buffer_pool_size = 768M\n' > /etc/mysql/mariadb.conf.d/95-pool.cnf
systemctl restart mariadb
