#!/usr/bin/env bash
# app (on s1): the team's app as the contest's servers ran it: isuumo.go.service as the user
# isucon, its database on s2 (MYSQL_HOST in ~isucon/env.sh). Ends once the app answers a request.
set -euo pipefail
YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=provisioning/common/guard.sh
. "$YK_LAB_DIR/common/guard.sh"
bin=/opt/yarakashi/bin/isuumo
[ -x "$bin" ] || { echo "no $bin: the app is built into the offline boxes (invoke box.build)" >&2; exit 1; }
id isucon > /dev/null 2>&1 || useradd -m -s /bin/bash isucon
install -d -o isucon -g isucon /home/isucon/isuumo /home/isucon/isuumo/webapp /home/isucon/isuumo/webapp/go
install -m 0755 -o isucon -g isucon "$bin" /home/isucon/isuumo/webapp/go/isuumo
cat > /home/isucon/env.sh <<'ENV'
MYSQL_HOST=s2
MYSQL_PORT=3306
MYSQL_USER=isucon
MYSQL_DBNAME=isucon
MYSQL_PASS=isucon
ENV
cat > /etc/systemd/system/isuumo.go.service <<'UNIT'
[Unit]
Description=isuumo.go
After=network-online.target

[Service]
WorkingDirectory=/home/isucon/isuumo/webapp/go
EnvironmentFile=/home/isucon/env.sh
User=isucon
Group=isucon
ExecStart=/home/isucon/isuumo/webapp/go/isuumo
Restart=always
SyslogIdentifier=isuumo

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
echo "+ systemctl enable --now isuumo.go.service   (MYSQL_HOST=s2: $(getent hosts s2 || echo 'not resolved'))"
systemctl enable --now isuumo.go.service
for _ in $(seq 60); do
  if out=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://localhost:1323/api/estate/low_priced", timeout=10).read().decode().strip())' 2> /dev/null); then
    echo "+ GET /api/estate/low_priced: $out"
    exit 0
  fi
  sleep 2
done
journalctl -u isuumo.go.service --no-pager | tail -n 20
echo "the app did not answer within 120 s" >&2
exit 1
