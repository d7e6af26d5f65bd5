"""The lane runner: a lane that dies must fail the suite (it once summed to 'exit 0')."""

from __future__ import annotations

from pathlib import Path

import pytest

from yarakashi import lanes, paths


def test_a_killed_lane_fails_the_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    modules = tmp_path / "lab"
    modules.mkdir()
    (modules / "test_fine.py").write_text("def test_fine():\n    pass\n")
    (modules / "test_killed.py").write_text(
        "import os, signal\n\ndef test_killed():\n    os.kill(os.getpid(), signal.SIGTERM)\n"
    )
    code, totals = lanes.run(modules, 2, ["-p", "no:cacheprovider"])
    assert code == 128 + 15
    assert totals == {"passed": 1, "failed": 1, "skipped": 0}
