"""The little Markdown the briefs use, as HTML: paragraphs, fenced code, lists, `code`.
Everything is escaped first; nothing else is interpreted.

>>> str(html("Run `make`:\\n\\n```\\nError 127\\n```\\n\\n- one\\n  more\\n- <b>two</b>"))
'<p>Run <code>make</code>:</p>\\n<pre>Error 127</pre>\\n<ul><li>one more</li><li>&lt;b&gt;two&lt;/b&gt;</li></ul>'
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

ITEM = re.compile(r"^(?:[-*]|\d+\.)\s+")


def inline(text: str) -> Markup:
    """One line or paragraph: escaped, with `code` spans."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{p}</code>" if n % 2 else p for n, p in enumerate(parts)))


def html(text: str) -> Markup:
    """``text`` (a brief's section) as HTML."""
    blocks: list[tuple[str, list[str]]] = []  # (kind, lines): pre, list, p
    fence = False
    for line in text.strip().splitlines():
        if line.startswith("```"):
            if not fence:
                blocks.append(("pre", []))
            fence = not fence
        elif fence:
            blocks[-1][1].append(line)
        elif not line.strip():
            blocks.append(("", []))
        elif ITEM.match(line):
            if not blocks or blocks[-1][0] != "list":
                blocks.append(("list", []))
            blocks[-1][1].append(line)
        elif blocks and blocks[-1][0] == "list":  # an item's next line
            blocks[-1][1][-1] += " " + line.strip()
        elif blocks and blocks[-1][0] == "p":
            blocks[-1][1].append(line.strip())
        else:
            blocks.append(("p", [line.strip()]))
    out = []
    for kind, lines in blocks:
        if kind == "pre":
            out.append(f"<pre>{escape(chr(10).join(lines))}</pre>")
        elif kind == "list":
            tag = "ol" if lines[0][0].isdigit() else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{inline(ITEM.sub('', i))}</li>" for i in lines) + f"</{tag}>")
        elif kind == "p":
            out.append(f"<p>{inline(' '.join(lines))}</p>")
    return Markup("\n".join(out))
