#!/usr/bin/env bash
# expect: FAIL tables not on InnoDB
# why: a "hot" copy on the MEMORY engine: small, but empty after every restart, and the app reads it
set -euo pipefail
mysql --protocol=socket -uroot -e "CREATE TABLE isuumo.estate_hot ENGINE=MEMORY
  AS SELECT id, rent, popularity FROM isuumo.estate"
