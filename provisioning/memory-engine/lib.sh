# shellcheck shell=bash
# Helpers shared by the memory-engine steps (sourced after guard.sh).

# An isuumo-like database (the ISUCON10 qualifier's app): two tables whose rows are small on
# disk but whose `description VARCHAR(4096)` columns are declared wide. The MEMORY engine
# stores every VARCHAR at its declared width (4 bytes a character in utf8mb4): over 16 KiB a
# row, whatever the row holds.
YK_DB=isuumo
YK_ROWS=${YK_ROWS:-24000}
# shellcheck disable=SC2034  # used by the steps that source this file
YK_DIGEST=/var/lib/yarakashi-lab/data.digest
yk_mysql() { mysql --protocol=socket -uroot "$@"; }

# The schema as the contest handed it out (InnoDB).
yk_create_schema() {
  echo "+ creating $YK_DB: estate and chair (InnoDB)"
  yk_mysql -e "
    DROP DATABASE IF EXISTS $YK_DB; CREATE DATABASE $YK_DB; USE $YK_DB;
    CREATE TABLE estate (
      id INT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, description VARCHAR(4096) NOT NULL,
      thumbnail VARCHAR(128) NOT NULL, address VARCHAR(128) NOT NULL,
      latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, rent INT NOT NULL,
      door_height INT NOT NULL, door_width INT NOT NULL, features VARCHAR(64) NOT NULL,
      popularity INT NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
    CREATE TABLE chair (
      id INT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, description VARCHAR(4096) NOT NULL,
      thumbnail VARCHAR(128) NOT NULL, price INT NOT NULL, height INT NOT NULL, width INT NOT NULL,
      depth INT NOT NULL, color VARCHAR(64) NOT NULL, features VARCHAR(64) NOT NULL,
      kind VARCHAR(64) NOT NULL, popularity INT NOT NULL, stock INT NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
}

# The app's data, generated in the server (the same rows every time), into whatever engine
# each table has now: what the app's POST /initialize does.
yk_insert_rows() {
  echo "+ loading $YK_ROWS rows into each of estate and chair"
  yk_mysql -e "USE $YK_DB; DELETE FROM estate; DELETE FROM chair;
    INSERT INTO estate SELECT seq, CONCAT('ISUマンション ', seq),
      REPEAT('駅から徒歩5分、日当たり良好な角部屋です。', 1 + seq % 8),
      CONCAT('/images/estate/', seq, '.png'), CONCAT('東京都千代田区', seq % 100, '-', seq % 17),
      35 + (seq % 1000) / 1000, 139 + (seq % 997) / 1000, 30000 + (seq * 37) % 270000,
      80 + seq % 150, 80 + seq % 120, '駐車場あり', (seq * 7919) % 100000
      FROM seq_1_to_$YK_ROWS;
    INSERT INTO chair SELECT seq, CONCAT('ISU椅子 ', seq),
      REPEAT('長時間座っても疲れにくい、高さ調整ができる椅子です。', 1 + seq % 6),
      CONCAT('/images/chair/', seq, '.png'), 1000 + (seq * 31) % 20000, 50 + seq % 120,
      40 + seq % 80, 40 + seq % 70, ELT(1 + seq % 4, '黒', '白', '赤', '緑'), '肘掛け', 'ゲーミングチェア',
      (seq * 104729) % 100000, seq % 10
      FROM seq_1_to_$YK_ROWS;"
}

# One line that changes when any row does.
yk_data_digest() {
  yk_mysql -N -e "SELECT CONCAT_WS(' ',
    'estate', (SELECT COUNT(*) FROM $YK_DB.estate), (SELECT COALESCE(SUM(CRC32(CONCAT(id, name, description))), 0) FROM $YK_DB.estate),
    'chair', (SELECT COUNT(*) FROM $YK_DB.chair), (SELECT COALESCE(SUM(CRC32(CONCAT(id, name, description))), 0) FROM $YK_DB.chair))"
}

# Each table's engine, rows, and bytes (InnoDB: on disk; MEMORY: in RAM).
yk_tables() {
  yk_mysql -e "ANALYZE TABLE $YK_DB.estate, $YK_DB.chair" > /dev/null
  yk_mysql -t -e "SELECT TABLE_NAME AS \`table\`, ENGINE AS engine, TABLE_ROWS AS \`rows\`,
    ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576) AS MiB FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = '$YK_DB' ORDER BY TABLE_NAME"
}

yk_memory() {
  echo "+ memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}'), swap: $(free -m | awk '/^Swap:/ {print $2 " MiB"}'), mariadbd RSS: $(ps -o rss= -C mariadbd | awk '{s += $1} END {print int(s / 1024) " MiB"}')"
}

# The settings the tuning steps write (only one of them is in place at a time).
YK_CNF_DIR=/etc/mysql/mariadb.conf.d
# shellcheck disable=SC2034  # used by the steps that source this file
YK_MEMORY_CNF=$YK_CNF_DIR/90-isuumo-memory.cnf
# shellcheck disable=SC2034
YK_INNODB_CNF=$YK_CNF_DIR/90-isuumo-innodb.cnf
