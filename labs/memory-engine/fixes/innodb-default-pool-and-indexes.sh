#!/usr/bin/env bash
# expect: PASS
# why: the speed the InnoDB way, written differently: the default 128 MB pool, indexes for the search queries, no restart
set -euo pipefail
mysql --protocol=socket -uroot -e "CREATE INDEX idx_rent ON isuumo.estate (rent, popularity);
  CREATE INDEX idx_price ON isuumo.chair (price, popularity)"
