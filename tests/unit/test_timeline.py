"""lab.timeline without VMs: the moments of a boot read from a journal, beside the post's lines,
as a table (en, ja) and one self-contained HTML page; a lab without marks is one clear line."""

from __future__ import annotations

import re
import subprocess
from itertools import combinations

import pytest

from yarakashi import YarakashiError, catalogue, cli, guest, model, paths, timeline
from yarakashi.app import room, target
from yarakashi.machine import Machine

#: A boot of the lab as its journal tells it (short-unix), the stale profile's denial included.
JOURNAL = """1000.000 guest kernel: Linux version 6.1.0
1040.000 guest systemd[1]: Starting mariadb.service - MariaDB 10.11.18 database server...
1043.500 guest mariadbd[701]: 2026-11-27 [Note] Starting MariaDB 10.11.18-MariaDB-0+deb12u1 source revision x as process 701
1044.000 guest kernel: audit: type=1400 apparmor="DENIED" operation="sendmsg" profile="/usr/sbin/mariadbd" name="/run/systemd/notify"
1046.000 guest mariadbd[701]: 2026-11-27 [Note] /usr/sbin/mariadbd: ready for connections.
1940.100 guest systemd[1]: mariadb.service: start operation timed out. Terminating.
1942.900 guest systemd[1]: mariadb.service: Failed with result 'timeout'.
1942.900 guest systemd[1]: Failed to start mariadb.service - MariaDB 10.11.18 database server.
"""
#: The same boot of the app server s1 (its clock is the host's, as s2's is).
S1_JOURNAL = """1001.000 s1 kernel: Linux version 6.1.0
1047.000 s1 isuumo[500]: 2026/11/27 10:00:47 ⇨ http server started on [::]:1323
1950.000 s1 isuumo[500]: [mysql] 2026/11/27 10:15:50 packets.go:122: closing bad idle connection: unexpected read from socket
1950.001 s1 isuumo[500]: [mysql] 2026/11/27 10:15:50 connection.go:158: driver: bad connection
"""


@pytest.fixture
def vm(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(paths, "WORK", tmp_path)
    monkeypatch.setattr(Machine, "exists", lambda self: self.vm == "default")
    monkeypatch.setattr(guest.Endpoint, "ssh", lambda self, command, timeout=120: subprocess.CompletedProcess([], 0, JOURNAL, ""))


def test_both_servers_journals_on_one_axis(vm, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(Machine, "exists", lambda self: True)
    monkeypatch.setattr(guest.Endpoint, "ssh", lambda self, command, timeout=120:
                        subprocess.CompletedProcess([], 0, S1_JOURNAL if self.host == "s1" else JOURNAL, ""))
    out = cli.timeline_text(*room.timeline_of(target.resolve("apparmor-cache", "debian12-merged"), tmp_path / "t.html"))
    assert "+00:07  +00:07   app started (s1)" in out  # 7 s after MariaDB's start, in the post as here
    assert "+15:10  +42:35   app: driver: bad connection (s1)" in out  # the lab's request came soon after the stop
    assert "connection.go:158: driver: bad connection" in (tmp_path / "t.html").read_text()


def test_the_boot_beside_the_post_as_a_table_and_a_page(vm, tmp_path) -> None:
    out = cli.timeline_text(*room.timeline_of(target.resolve("apparmor-cache", "debian12-merged"), tmp_path / "t.html"))
    rows = out.splitlines()
    assert rows[1].startswith("+00:00  +00:00   reboot: MariaDB starting")
    assert "+15:00  +15:03   start timed out" in out  # the lab's 900 s beside the post's 14:20:38 -> 14:35:41
    assert "     -  +42:35   app: driver: bad connection (s1)" in out  # the post's app server: not in this lab
    assert "起動タイムアウト" in out and out.endswith(f"picture: {tmp_path / 't.html'}")
    page = (tmp_path / "t.html").read_text()
    assert page.count("<svg") == 2 and "Sep 12 14:35:41 s2 systemd[1]: mariadb.service: Start operation timed out." in page
    assert "<script" not in page and "://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


def test_a_lab_without_marks_and_a_bad_mark_are_one_clear_line(vm) -> None:
    with pytest.raises(YarakashiError, match=r"^lab memory-engine has no timeline marks \(\[\[timeline\]\] in lab.toml\); "
                                             r"labs with them: apparmor-cache$"):
        room.timeline_of(target.resolve("memory-engine"))
    with pytest.raises(YarakashiError, match=r"^x: match is not a regular expression: "):
        model.Mark.from_table({"match": "(", "label": "l", "label_ja": "l"}, "x")
    with pytest.raises(YarakashiError, match=r"^x: missing key 'label_ja'$"):
        model.Mark.from_table({"match": "a", "label": "l"}, "x")


def test_a_journal_that_cannot_be_read_is_one_line(vm, monkeypatch) -> None:
    from yarakashi import failures

    monkeypatch.setattr(guest.Endpoint, "ssh", lambda self, command, timeout=120: subprocess.CompletedProcess([], 255, "", "Connection refused"))
    with pytest.raises(failures.ToolFailed, match=r"reading the journal of apparmor-cache/debian12-merged \(main\) failed: "
                                                  r"ssh exited 255: Connection refused"):
        room.timeline_of(target.resolve("apparmor-cache"))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_labels_seconds_apart_stack_without_overlapping(lang) -> None:
    lab = catalogue.lab("apparmor-cache")
    found = timeline.moments(lab.timeline, {"": JOURNAL, "s1": S1_JOURNAL})
    first = sorted(m.lab for m in found if m.lab is not None and m.lab < 9)
    assert first == [0, 3.5, 4, 6, 7]  # the story's first seconds
    crowd = [timeline.Moment(model.Mark("x", f"moment {i}", f"瞬間その{i}"), i / 10, i / 10) for i in range(12)]
    for moments in (found, found + crowd):  # and any number more within a second
        at = timeline.layout(moments, lang)
        assert len(at.labels) == sum((m.lab is not None) + (m.post is not None) for m in moments)
        hit = lambda a, b: a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]  # noqa: E731
        assert [(a.text, b.text) for a, b in combinations(at.labels, 2) if hit(a.box, b.box)] == []
        crossed = [(a.text, b.text) for a in at.labels for b in at.labels  # a's leader line, up from its dot, through b
                   if a is not b and b.box[0] <= a.dot[0] <= b.box[2] and b.box[1] < a.dot[1] and a.y - 4 < b.box[3]]
        assert crossed == []
        assert all(0 <= left and right <= timeline.WIDTH and 30 < top and bottom < at.rows[-1]  # inside the picture
                   for left, top, right, bottom in (label.box for label in at.labels))
    picture = timeline.svg(found, lang, "t")
    at = timeline.layout(found, lang)
    assert all(f'<text x="{label.x:.1f}" y="{label.y:.0f}" text-anchor="{label.anchor}">{label.text}</text>'
               in picture.replace("&#x27;", "'") for label in at.labels)  # drawn where laid out
    fonts = re.search(r'<svg [^>]*font-family="([^"]*)"', picture).group(1)
    assert ("'Noto Sans CJK JP'" in fonts and "Meiryo" in fonts) == (lang == "ja")
    page = timeline.page(lab, "debian12-merged", found)
    assert '<section lang="ja">' in page and ":lang(ja) { font-family: 'Noto Sans CJK JP'" in page
