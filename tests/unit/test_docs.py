"""Every path the docs cite exists.

Why: the READMEs, docs/ and each lab's pages name files to read (links, and repository paths in
`code spans`); a file moved or renamed leaves them pointing nowhere, and nothing else notices.
A code span counts as a repository path when its first part is one of the repository's own
top-level entries and it holds no placeholder, glob or command (``<>*…{}$`` or a space); what is
made at run time (``.work/``) is no such entry, so it is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yarakashi import paths

DOCS = sorted([paths.REPO / "README.md", paths.REPO / "README.ja.md",
               *paths.REPO.glob("docs/*.md"), *paths.REPO.glob("labs/*/*.md")])
TOP = {"labs", "provisioning", "yarakashi", "tests", "bench", "docs", ".ci",
       "tasks.py", "platforms.toml", "Vagrantfile.j2", "requirements.txt", "run"}
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SPAN = re.compile(r"`([^`\n]+)`")
NOT_A_PATH = set("<>*…{}$ ")


def prose(doc: Path) -> str:
    """The document without its fenced blocks (commands and output, not citations)."""
    return FENCE.sub("", doc.read_text())


def links(doc: Path) -> list[str]:
    """Relative link targets, anchors stripped."""
    found = (m.group(1).split("#", 1)[0] for m in LINK.finditer(prose(doc)))
    return [t for t in found if t and not t.startswith(("http://", "https://", "mailto:"))]


def cited(doc: Path) -> list[str]:
    """Code spans that name a file or directory of the repository, without ``:LINE[-LINE]``."""
    spans = (re.sub(r"(:\d+(-\d+)?)?[.,;:]*$", "", m.group(1)) for m in SPAN.finditer(prose(doc)))
    return [s for s in spans if s.split("/", 1)[0] in TOP and not NOT_A_PATH & set(s)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.relative_to(paths.REPO).as_posix())
def test_links_resolve(doc: Path) -> None:
    missing = [t for t in links(doc) if not (doc.parent / t).exists()]
    assert not missing, f"{doc.relative_to(paths.REPO)} links to nothing: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.relative_to(paths.REPO).as_posix())
def test_cited_paths_exist(doc: Path) -> None:
    missing = [p for p in cited(doc) if not (paths.REPO / p).exists()]
    assert not missing, f"{doc.relative_to(paths.REPO)} cites paths that do not exist: {missing}"
