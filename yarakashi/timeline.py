"""The incident as a picture: the moments of a boot read from a lab guest's journal, beside the
post's own log lines, on one time axis from the reboot (``lab.timeline NAME``).

Each moment is a lab.toml ``[[timeline]]`` mark: a regular expression for the journal line that
shows it in the lab, labels (en, ja), and the post's line for it with its time. Both count from
the first mark (apparmor-cache: MariaDB starting after the reboot, the post's 14:20:38); a lab
whose first mark is not in the journal counts from the boot's first entry.

>>> from yarakashi import catalogue
>>> marks = (model.Mark("Starting MariaDB", "DB starting", "DB 起動開始", "14:20:38", "s2 systemd[1]: Starting MariaDB"),
...          model.Mark("timed out", "timed out", "タイムアウト", "14:35:41", "s2 systemd[1]: ... timed out."))
>>> journal = "100.0 h kernel: Linux version 6\\n130.5 h systemd[1]: Starting MariaDB 10.11 database server...\\n"
>>> print(table(moments(marks, journal), "ja"))
   lab  post     moment        post's line
+00:00  +00:00   DB 起動開始   s2 systemd[1]: Starting MariaDB
     -  +15:03   タイムアウト  s2 systemd[1]: ... timed out.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from yarakashi import model

#: What a guest is asked for (as root): this boot's journal, each line with its Unix time.
JOURNAL = "journalctl -b -o short-unix --no-pager -q"
#: SVG geometry: width, left margin, row heights.
WIDTH, LEFT, ROW = 960, 170, 100
#: Label tiers above a row: moments seconds apart (chronological neighbours) get different ones.
TIERS = 4
TITLE = {"en": "The incident, minute by minute from the reboot", "ja": "再起動からの経過（分）で見る事故"}
ROWS = {"en": ("the post (ISUCON10)", "this lab"), "ja": ("記事（ISUCON10）", "このラボ")}


@dataclass(frozen=True)
class Moment:
    """A mark and when it happened, in seconds from the reboot (None: not seen)."""

    mark: model.Mark
    lab: float | None
    post: float | None
    line: str = ""  # the lab's journal line

    def label(self, lang: str) -> str:
        return self.mark.label_ja if lang == "ja" else self.mark.label


def _clock(text: str) -> float:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def _entries(journal: str) -> list[tuple[float, str]]:
    found = []
    for raw in journal.splitlines():
        stamp, _, rest = raw.partition(" ")
        try:
            found.append((float(stamp), rest))
        except ValueError:
            continue
    return found


def moments(marks: Sequence[model.Mark], journal: str | Mapping[str, str]) -> list[Moment]:
    """Each mark's first journal line (``short-unix`` output) and its post time, from the reboot.

    ``journal`` is the lab VM's, or each machine's by name (``{"": s2's, "s1": s1's}``): the
    guests' clocks are the host's, so their Unix times share one axis.
    """
    journals = {"": journal} if isinstance(journal, str) else journal
    entries = {name: _entries(text) for name, text in journals.items()}
    reboot = next((_clock(m.post_at) for m in marks if m.post_at), 0.0)
    hits = []
    for mark in marks:
        pattern = re.compile(mark.match)
        hits.append(next(((at, text) for at, text in entries.get(mark.machine, []) if pattern.search(text)), None))
    own = entries.get("", [])
    start = hits[0][0] if hits and hits[0] else own[0][0] if own else 0.0
    return [Moment(mark, hit[0] - start if hit else None, _clock(mark.post_at) - reboot if mark.post_at else None,
                   hit[1] if hit else "") for mark, hit in zip(marks, hits)]


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"+{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def _cells(text: str) -> int:
    """Terminal columns of ``text`` (a wide character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(found: Sequence[Moment], lang: str) -> str:
    """The moments as text: lab time, post time, label, the post's line."""
    width = max(_cells(m.label(lang)) for m in found)
    pad = lambda text: text + " " * (width - _cells(text))  # noqa: E731
    rows = [f"{'lab':>6}  {'post':<6}   {pad('moment')}  post's line"]
    rows += [f"{_mmss(m.lab):>6}  {_mmss(m.post):<6}   {pad(m.label(lang))}  {m.mark.post_line}".rstrip() for m in found]
    return "\n".join(rows)


def svg(found: Sequence[Moment], lang: str, title: str) -> str:
    """One self-contained SVG: the post's row above the lab's, minutes from the reboot."""
    span = max([m.lab or 0 for m in found] + [m.post or 0 for m in found] + [60]) * 1.05
    x = lambda seconds: LEFT + (WIDTH - LEFT - 20) * seconds / span  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{ROW * 2 + 130}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-size="15">{html.escape(title)}</text>']
    for minute in range(0, int(span // 60) + 1, 5):
        out.append(f'<line x1="{x(minute * 60):.0f}" y1="35" x2="{x(minute * 60):.0f}" y2="{ROW * 2 + 70}" stroke="#ddd"/>'
                   f'<text x="{x(minute * 60):.0f}" y="{ROW * 2 + 85}" text-anchor="middle">{minute}</text>')
    for row, (name, key) in enumerate(zip(ROWS[lang], ("post", "lab"))):
        y = 90 + row * ROW
        out.append(f'<text x="10" y="{y + 4}">{html.escape(name)}</text>'
                   f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - 20}" y2="{y}" stroke="#888"/>')
        for i, m in enumerate(found):
            at = getattr(m, key)
            if at is None:
                continue
            tip = m.mark.post_line if key == "post" else m.line
            anchor = "start" if x(at) < LEFT + 90 else "end" if x(at) > WIDTH - 160 else "middle"
            out.append(f'<g><title>{html.escape(tip)}</title><circle cx="{x(at):.0f}" cy="{y}" r="5" fill="#c33"/>'
                       f'<text x="{x(at):.0f}" y="{y - 10 - 14 * (i % TIERS)}" text-anchor="{anchor}">{html.escape(m.label(lang))}</text></g>')
    out.append(f'<text x="{WIDTH // 2}" y="{ROW * 2 + 110}" text-anchor="middle">{"minutes from the reboot" if lang == "en" else "再起動からの分"}</text>')
    return "\n".join(out + ["</svg>"])


def page(lab: model.Lab, platform: str, found: Sequence[Moment]) -> str:
    """A self-contained HTML page: the picture and the table, in English and Japanese."""
    parts = [f"<!doctype html><meta charset=utf-8><title>{html.escape(lab.name)}: timeline</title>",
             f"<h1>{html.escape(lab.name)} ({html.escape(platform)})</h1>"]
    for lang in ("en", "ja"):
        parts += [svg(found, lang, TITLE[lang]), f"<pre>{html.escape(table(found, lang))}</pre>"]
    lines = "\n".join(f"{_mmss(m.lab)}  {m.line}" for m in found if m.line)
    parts.append(f"<h2>this lab's journal lines / このラボのジャーナル</h2><pre>{html.escape(lines)}</pre>")
    return "\n".join(parts)
