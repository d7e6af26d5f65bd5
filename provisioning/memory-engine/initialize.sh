#!/usr/bin/env bash
# initialize: what the app's POST /initialize does before every benchmark: delete all rows and
# load the dataset again, into whatever engine each table has now. Run it after the break (the
# rows fit once a table is MEMORY and the other is not) and see what a reboot leaves of them.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
# shellcheck source=provisioning/memory-engine/lib.sh
. "$YK_LAB_DIR/memory-engine/lib.sh"

yk_insert_rows
yk_data_digest
yk_tables
yk_memory
