"""The walk over everything a team reaches on its started servers, logged in as the team is
(``isucon``, no sudo), against its lab's spoiler words (lab.toml ``spoilers``), the lab's own
name, its platforms' names and the VM prefix: the host name and prompt, ``/etc/hosts`` and the
login banners, the lab's marker file (root's only), what the machine says of itself (kernel command line, DMI names, disk ids), the names of units and processes the lab started, the packages the lab installed
(their names and summaries), and every file the lab wrote that the login can read (newer than the box, owned by no package).

What the operating system itself ships or records is not the lab's to hide, as a real server with
the same packages shows it too: Debian's ``/etc/apparmor.d``, its ``usr-is-merged`` package, the
boot loader's files (written when the box was built), the package manager's records (dpkg's and
apt's state and logs, debconf: the packages a lab installs list their own files, an AppArmor
profile among them) and the user database. The walk looks at what the lab put there. One file is
the facilitator's, on purpose: the drop-in of a shortened start timeout (roster ``start_timeout``,
``workshop.DROP_IN``), there only when the room asks for it.

>>> from yarakashi import catalogue
>>> found("== hostname\\ns1\\n== file /home/isucon/x\\nmerged\\n== file /etc/yarakashi-rsync-dirlinks", catalogue.lab("rsync-dirlinks"))
["file /home/isucon/x: 'merged'", 'file /etc/yarakashi-rsync-dirlinks: its name']
>>> found("== file /var/cache/mysql-server-5.7-bionic.deb", catalogue.lab("apparmor-cache"))
[]
>>> found("== marker\\nplatform=debian12-merged\\nusr=merged", catalogue.lab("rsync-dirlinks"))  # a marker left readable
["marker: 'merged'", "marker: 'debian12-merged'", "marker: 'merged'"]
"""

from __future__ import annotations

import re
import shlex

from yarakashi import model, providers, workshop

#: Run as the team's login: each section headed ``== what``; a file the lab wrote is
#: ``== file PATH`` followed by the words of ``$1`` (an ERE) it holds.
WALK = r"""
pattern=$1 OWN=$2
marker=$(stat -c %Y /etc/yarakashi-guest)
echo "== hostname"; hostname
echo "== prompt"; echo "$(id -un)@$(hostname -s)"
echo "== hosts"; cat /etc/hosts
echo "== banners"; cat /etc/motd /etc/issue /etc/issue.net 2>/dev/null
echo "== marker"; cat /etc/yarakashi-guest 2>/dev/null || echo "(not readable)"
echo "== machine"; cat /proc/cmdline; cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name 2>/dev/null; ls /dev/disk/by-id 2>/dev/null
echo "== units"; systemctl list-units --all --plain --no-legend --no-pager | awk '{print $1}' | grep -i yarakashi
echo "== processes"; ps -eo args= | grep -i -e yarakashi -e yk- | grep -v -e 'grep -i' -e '== processes'
echo "== packages"; dpkg-query -W -f '${db-fsys:Last-Modified} ${Package}: ${binary:Summary}\n' | awk -v m="$marker" '$1 > m'
cat /var/lib/dpkg/info/*.list 2>/dev/null | sort -u > /tmp/.walk-packaged
find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /boot -o -path /var/lib/dpkg \
  -o -path /var/lib/apt -o -path /var/cache/apt -o -path /var/cache/debconf -o -path /var/log/apt \) -prune -o \
  -type f -newermt "@$marker" -readable -size -2M -print 2>/dev/null | sort | comm -23 - /tmp/.walk-packaged |
grep -v -E "^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^/etc/ld\.so\.cache$|^/var/log/dpkg\.log$|$OWN" |
while read -r f; do
  echo "== file $f"
  grep -I -i -o -E "$pattern" "$f" | sort -u | head -5
done
rm -f /tmp/.walk-packaged
"""


def words(lab: model.Lab) -> list[str]:
    """What no place a team reaches may hold: the lab's spoilers, its name, its platforms', the VM prefix."""
    return [*lab.spoilers, lab.name, *lab.platforms, providers.GUEST_PREFIX]


def pattern(lab: model.Lab) -> str:
    """``words(lab)`` as one extended regular expression, each a word of its own."""
    alternatives = "|".join(re.sub(r"([.[\](){}*+?^$|\\])", r"\\\1", w) for w in words(lab))
    return f"(^|[^A-Za-z0-9])({alternatives})([^A-Za-z0-9]|$)"


def command(lab: model.Lab) -> str:
    """The walk as one shell command for the team's login."""
    own = "^" + workshop.DROP_IN.replace(".", "\\.").replace("{unit}", "[^/]+") + "$"
    return f"sh -c {shlex.quote(WALK)} walk {shlex.quote(pattern(lab))} {shlex.quote(own)}"


def found(output: str, lab: model.Lab) -> list[str]:
    """Each place of the walk's ``output`` that holds one of ``words(lab)``: ``"hostname: 'debian12-merged'"``."""
    seen, section = [], ""
    for line in output.splitlines():
        if line.startswith("== "):
            section = line[3:]
            if section.startswith("file ") and _words_in(section.rpartition("/")[2], lab):  # /var/cache is the OS's word
                seen.append(f"{section}: its name")
            continue
        seen += [f"{section}: {w!r}" for w in _words_in(line, lab)]
    return seen


def _words_in(text: str, lab: model.Lab) -> list[str]:
    return [w for w in words(lab) if re.search(rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])", text, re.I)]

