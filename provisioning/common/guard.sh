# shellcheck shell=bash
# Sourced first by every script that changes a guest. It refuses to go on anywhere but
# inside a yarakashi lab guest, so that a slip can never run `rsync -r files/ /` on the
# host: the box carries /etc/yarakashi-guest (written by box.build), the host carries
# /etc/yarakashi-host (written by the setup), and a step needs the first without the second.
#
# Example (first lines of a step):
#   YK_LAB_DIR=${YK_LAB_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
#   . "$YK_LAB_DIR/common/guard.sh"
if [ ! -f /etc/yarakashi-guest ] || [ -e /etc/yarakashi-host ]; then
  echo "refusing to run ${0##*/}: not inside a yarakashi lab guest (no /etc/yarakashi-guest, or this is the host)" >&2
  exit 3
fi
