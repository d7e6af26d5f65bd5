"""The tee between Vagrant and the terminal: every line it copies is a whole line."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from yarakashi.teelog import tee


def test_a_child_killed_mid_line_leaves_a_whole_line(tmp_path: Path) -> None:
    # As Vagrant interrupted during start-up: the last frame of its backtrace without its newline.
    out = io.StringIO()
    with tee(tmp_path / "v.log", prefix="[lab] ", stream=out) as fh:
        subprocess.run(["printf", "x.rb:5:in `require_relative'"], stdout=fh, check=True)
    out.write("interrupted (SIGINT) during vagrant up\n")
    assert out.getvalue().splitlines() == ["[lab] x.rb:5:in `require_relative'", "interrupted (SIGINT) during vagrant up"]
    assert (tmp_path / "v.log").read_text() == "x.rb:5:in `require_relative'\n"


def test_whole_lines_pass_unchanged(tmp_path: Path) -> None:
    out = io.StringIO()
    with tee(tmp_path / "v.log", stream=out) as fh:
        subprocess.run(["printf", "a\\n\\nb\\n"], stdout=fh, check=True)
    assert out.getvalue() == "a\n\nb\n"
