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
#: SVG geometry: width, the plot's left and right edges, font size, px per label tier, px from a
#: dot's leader line to its label, px kept between labels (more than GAP, so a label never covers a
#: leader line that ends in its tier), and a Latin character's estimated width (a wide one: twice).
WIDTH, LEFT, RIGHT, FONT, TIER, GAP, PAD, CHAR = 960, 170, 940, 12, 20, 4, 8, 7.2
#: The Japanese text's fonts: common CJK faces of Linux, macOS and Windows, then the default.
CJK = ("'Noto Sans CJK JP', 'Noto Sans JP', 'Hiragino Sans', 'Hiragino Kaku Gothic ProN', 'Yu Gothic', "
       "Meiryo, sans-serif")
CJK_MONO = "'Noto Sans Mono CJK JP', 'Noto Sans CJK JP', 'MS Gothic', monospace"
FONTS = {"en": "sans-serif", "ja": CJK}
TITLE = {"en": "The incident, minute by minute from the reboot", "ja": "再起動からの経過（分）で見る事故"}
ROWS = {"en": ("the post (ISUCON10)", "this lab"), "ja": ("記事（ISUCON10）", "このラボ")}
AXIS = {"en": "minutes from the reboot", "ja": "再起動からの分"}


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


def text_width(text: str) -> float:
    """Estimated px width of ``text`` at FONT px: CHAR a character, twice that for a wide one.

    >>> text_width("DB"), text_width("起動")
    (14.4, 28.8)
    """
    return _cells(text) * CHAR


@dataclass(frozen=True)
class Label:
    """A moment's label on one row of the picture: its dot, where its text goes, the text's box."""

    text: str
    tip: str  # the row's log line for it, shown on hover
    dot: tuple[float, float]
    x: float  # the text reads rightwards from x ("start") or ends at x ("end")
    y: float  # the text's baseline
    anchor: str
    box: tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True)
class Layout:
    """Where everything of one picture goes: the time scale, each row's y, the labels, the height."""

    span: float  # seconds the axis covers
    rows: tuple[float, ...]  # y of the post's row and of the lab's
    labels: tuple[Label, ...]
    height: float

    def x(self, seconds: float) -> float:
        return _x(self.span, seconds)


def _x(span: float, seconds: float) -> float:
    return LEFT + (RIGHT - LEFT) * seconds / span


def _apart(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether the spans ``a`` and ``b`` (left, right) keep PAD between them."""
    return a[1] + PAD <= b[0] or b[1] + PAD <= a[0]


def _tiers(spans: Sequence[tuple[float, float, float]]) -> list[int]:
    """A tier for each label's (dot, left, right), 0 nearest its row: the lowest where the label
    keeps PAD from the labels and leader lines already there and, where it can, its own leader
    line crosses no label below it. A tier above all in use is always free, so labels never
    overlap however many moments share a few pixels. Placing right to left (the later first at
    one x) stacks a cluster's earlier labels higher, to be read downwards in time, their leader
    lines passing left of the later labels."""
    boxes: list[tuple[int, float, float]] = []  # tier, left, right
    leaders: list[tuple[int, float]] = []  # a leader line at x, from the row up into tier
    tiers = [0] * len(spans)
    for i in sorted(range(len(spans)), key=lambda i: (spans[i][0], i), reverse=True):
        dot, left, right = spans[i]
        free = [t for t in range(len(boxes) + 1)  # the last: above all tiers in use
                if all(_apart((left, right), (l2, r2)) for t2, l2, r2 in boxes if t2 == t)
                and all(_apart((left, right), (x2, x2)) for t2, x2 in leaders if t2 >= t)]
        clear = [t for t in free if all(_apart((dot, dot), (l2, r2)) for t2, l2, r2 in boxes if t2 < t)]
        tiers[i] = (clear or free)[0]
        boxes.append((tiers[i], left, right))
        leaders.append((tiers[i], dot))
    return tiers


def layout(found: Sequence[Moment], lang: str) -> Layout:
    """The picture's geometry: each label beside a leader line up from its dot, in a tier of its
    row (``_tiers``), right of the dot unless it would leave the picture; each row as tall as its
    tiers need. ``svg`` draws it; a test checks its boxes."""
    span = max([m.lab or 0 for m in found] + [m.post or 0 for m in found] + [60]) * 1.05
    labels: list[Label] = []
    rows: list[float] = []
    top = 44.0  # below the title
    for key in ("post", "lab"):
        shown = [m for m in found if getattr(m, key) is not None]
        spans = []
        for m in shown:
            dot, width = _x(span, getattr(m, key)), text_width(m.label(lang))
            right = dot + GAP + width <= WIDTH - 4
            spans.append((dot, dot + GAP, dot + GAP + width) if right else (dot, dot - GAP - width, dot - GAP))
        tiers = _tiers(spans)
        y = top + 28 + TIER * max(tiers, default=0)  # the highest tier's box starts at top
        for m, (dot, left, right), tier in zip(shown, spans, tiers):
            base = y - 14 - TIER * tier
            start = left > dot
            labels.append(Label(m.label(lang), m.mark.post_line if key == "post" else m.line, (dot, y),
                                left if start else right, base, "start" if start else "end",
                                (left, base - 14, right, base + 4)))
        rows.append(y)
        top = y + 20  # clear of the row's dots and name
    return Layout(span, tuple(rows), tuple(labels), rows[-1] + 72)


def svg(found: Sequence[Moment], lang: str, title: str) -> str:
    """One self-contained SVG: the post's row above the lab's, minutes from the reboot (``layout``)."""
    at = layout(found, lang)
    bottom = at.rows[-1]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" lang="{lang}" width="{WIDTH}" height="{at.height:.0f}" '
           f'font-family="{FONTS[lang]}" font-size="{FONT}">',
           f'<text x="10" y="20" font-size="15">{html.escape(title)}</text>']
    for minute in range(0, int(at.span // 60) + 1, 5):
        x = at.x(minute * 60)
        out.append(f'<line x1="{x:.0f}" y1="35" x2="{x:.0f}" y2="{bottom + 20:.0f}" stroke="#ddd"/>'
                   f'<text x="{x:.0f}" y="{bottom + 35:.0f}" text-anchor="middle">{minute}</text>')
    for name, y in zip(ROWS[lang], at.rows):
        out.append(f'<text x="10" y="{y + 4:.0f}">{html.escape(name)}</text>'
                   f'<line x1="{LEFT}" y1="{y:.0f}" x2="{RIGHT}" y2="{y:.0f}" stroke="#888"/>')
    for label in at.labels:
        (dot, y), tip = label.dot, html.escape(label.tip)
        out.append(f'<g><title>{tip}</title>'
                   f'<line x1="{dot:.1f}" y1="{y:.0f}" x2="{dot:.1f}" y2="{label.y - 4:.0f}" stroke="#c66"/>'
                   f'<circle cx="{dot:.1f}" cy="{y:.0f}" r="5" fill="#c33"/><text x="{label.x:.1f}" y="{label.y:.0f}" '
                   f'text-anchor="{label.anchor}">{html.escape(label.text)}</text></g>')
    out.append(f'<text x="{WIDTH // 2}" y="{bottom + 60:.0f}" text-anchor="middle">{AXIS[lang]}</text>')
    return "\n".join(out + ["</svg>"])


#: The page's Japanese in CJK fonts; its table in a monospace face whose wide characters are two
#: columns, as ``table`` pads them.
STYLE = f"<style>:lang(ja) {{ font-family: {CJK} }} pre:lang(ja) {{ font-family: {CJK_MONO} }}</style>"


def page(lab: model.Lab, platform: str, found: Sequence[Moment], langs: Sequence[str] = ("en", "ja")) -> str:
    """A self-contained HTML page: the picture and the table, in English and Japanese."""
    parts = [f"<!doctype html><html lang=\"en\"><meta charset=utf-8><title>{html.escape(lab.name)}: timeline</title>",
             STYLE, f"<h1>{html.escape(lab.name)} ({html.escape(platform)})</h1>"]
    for lang in langs:
        parts.append(f'<section lang="{lang}">{svg(found, lang, TITLE[lang])}\n'
                     f'<pre>{html.escape(table(found, lang))}</pre></section>')
    lines = "\n".join(f"{_mmss(m.lab)}  {m.line}" for m in found if m.line)
    parts.append(f'<h2>this lab\'s journal lines / <span lang="ja">このラボのジャーナル</span></h2>'
                 f'<pre>{html.escape(lines)}</pre>')
    return "\n".join(parts)
