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


def test_the_suite_report_merges_every_lane(tmp_path) -> None:
    from yarakashi import lanes

    (tmp_path / "a.xml").write_text('<testsuites><testsuite name="pytest" tests="2" failures="0" errors="0" skipped="0">'
                                    '<testcase name="x"><properties><property name="lab" value="rsync-dirlinks"/>'
                                    '</properties></testcase><testcase name="y"/></testsuite></testsuites>')
    (tmp_path / "b.xml").write_text('<testsuite name="pytest" tests="1" failures="1" errors="0" skipped="0"><testcase name="z"/></testsuite>')
    out = lanes.merge([tmp_path / "a.xml", tmp_path / "b.xml", tmp_path / "missing.xml"], tmp_path / "suite.xml")
    assert lanes.outcomes([out]) == {"passed": 2, "failed": 1, "skipped": 0}
    assert "rsync-dirlinks" in out.read_text()


def test_past_the_deadline_the_lanes_stop_and_say_what_did_not_finish(tmp_path: Path, monkeypatch, capsys) -> None:
    import time

    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    modules = tmp_path / "lab"
    modules.mkdir()
    (modules / "test_quick.py").write_text("TEST_MINUTES = 9\n\ndef test_quick():\n    pass\n")
    (modules / "test_slow.py").write_text("import time\nTEST_MINUTES = 1\n\ndef test_slow():\n    time.sleep(300)\n")
    (modules / "test_never.py").write_text("TEST_MINUTES = 1\n\ndef test_never():\n    pass\n")
    start = time.monotonic()
    code, totals = lanes.run(modules, 1, ["-p", "no:cacheprovider"], deadline=time.monotonic() + 15)
    assert code == 124 and time.monotonic() - start < 120
    assert totals["passed"] == 2  # test_quick and test_never ran before the deadline
    err = capsys.readouterr().err
    assert "lane 1 stopped at the deadline; did not run: test_slow.py (and maybe the rest of test_never.py)" in err


def test_every_module_runs_with_its_declared_minutes(tmp_path: Path) -> None:
    (tmp_path / "test_story.py").write_text("TEST_MINUTES = 5\n")
    (tmp_path / "test_corpus_x.py").write_text("TEST_MINUTES = 40\n")
    (tmp_path / "test_plain.py").write_text("def test_x():\n    pass\n")
    found = {Path(m).name: minutes for m, minutes in lanes.lab_modules(tmp_path)}
    assert found == {"test_corpus_x.py": 40, "test_plain.py": lanes.DEFAULT_MINUTES, "test_story.py": 5}
