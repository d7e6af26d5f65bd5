"""The lane runner: a lane that dies must fail the suite (it once summed to 'exit 0')."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from yarakashi import YarakashiError, capacity, catalogue, corpus, hosts, labnet, lanes, paths


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
    from yarakashi import junit

    (tmp_path / "a.xml").write_text('<testsuites><testsuite name="pytest" tests="2" failures="0" errors="0" skipped="0">'
                                    '<testcase name="x"><properties><property name="lab" value="rsync-dirlinks"/>'
                                    '</properties></testcase><testcase name="y"/></testsuite></testsuites>')
    (tmp_path / "b.xml").write_text('<testsuite name="pytest" tests="1" failures="1" errors="0" skipped="0"><testcase name="z"/></testsuite>')
    out = junit.merge([tmp_path / "a.xml", tmp_path / "b.xml", tmp_path / "missing.xml"], tmp_path / "suite.xml")
    assert junit.outcomes([out]) == {"passed": 2, "failed": 1, "skipped": 0}
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
    (tmp_path / "test_long.py").write_text("TEST_MINUTES = 40\n")
    (tmp_path / "test_plain.py").write_text("def test_x():\n    pass\n")
    found = {Path(m).name: minutes for m, minutes in lanes.units(tmp_path)}
    assert found == {"test_long.py": 40, "test_plain.py": lanes.DEFAULT_MINUTES, "test_story.py": 5}


#: A module parametrized per lab, as tests/lab/test_corpus.py is.
PARAMETRIZED_PER_LAB = """import pytest

MINUTES_PER_LAB = "corpus_minutes"


@pytest.mark.parametrize("lab", ["lab-a", "lab-b", "lab-c"])
def test_corpus(lab):
    pass
"""


def test_a_module_parametrized_per_lab_is_one_unit_per_lab_with_the_labs_minutes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    labs = {name: SimpleNamespace(name=name, test_minutes=0, corpus_minutes=minutes)
            for name, minutes in [("lab-a", 21), ("lab-b", 11), ("lab-c", 0)]}
    monkeypatch.setattr(catalogue, "labs", lambda: labs)
    modules = tmp_path / "lab"
    modules.mkdir()
    (modules / "test_corpus.py").write_text(PARAMETRIZED_PER_LAB)
    found = lanes.units(modules)
    a, b, c = (f"{modules / 'test_corpus.py'}::test_corpus[{name}]" for name in labs)
    assert found == [(a, 21), (b, 11), (c, lanes.DEFAULT_MINUTES)]
    assert [lane.units for lane in lanes.plan(found, 2)] == [(a,), (b, c)]
    code, totals = lanes.run(modules, 2, ["-p", "no:cacheprovider"])  # node ids as pytest's arguments: each case once
    assert (code, totals) == (0, {"passed": 3, "failed": 0, "skipped": 0})


def test_the_corpus_module_is_one_unit_per_lab_with_a_corpus() -> None:
    module = paths.REPO / "tests" / "lab" / "test_corpus.py"
    found = lanes.lab_cases(module, lanes.PER_LAB.search(module.read_text())[1])
    stated = [(name, lab.corpus_minutes) for name, lab in sorted(catalogue.labs().items()) if corpus.cases(name)]
    assert [(unit.rsplit("[", 1)[1].rstrip("]"), minutes) for unit, minutes in found] == stated


def test_a_per_lab_module_that_does_not_collect_runs_whole_so_that_its_lane_says_why(tmp_path: Path) -> None:
    (tmp_path / "test_corpus.py").write_text('MINUTES_PER_LAB = "corpus_minutes"\n\ndef test_x(:\n')
    assert lanes.units(tmp_path) == [(str(tmp_path / "test_corpus.py"), lanes.DEFAULT_MINUTES)]


def test_a_lane_s_reboots_are_counted_from_what_it_prints(capsys) -> None:
    """The suite's `reboot to SSH` line reads the lanes' own lines, real reboots only (not a
    state resumed, not a power cycle)."""
    import io

    printed = io.StringIO("[yarakashi 23:05:32] yk-x-default back from reboot: after 29 s\n"
                          "[yarakashi 23:05:59] yk-x-default answering in the state 'before-fix': after 5 s\n"
                          "[yarakashi 23:09:03] yk-y-default back from reboot: after 63 s\n")
    reboots: list[int] = []
    lanes._pump(2, SimpleNamespace(stdout=printed), reboots)  # type: ignore[arg-type]
    assert reboots == [29, 63]
    assert capsys.readouterr().out.startswith("[lane 2] [yarakashi 23:05:32] yk-x-default back from reboot")
    assert lanes.reboot_summary(reboots) == "reboot to SSH: 29 s (the median of 2 real reboots; 29 to 63 s)"


WS2, WS3 = hosts.parse("qemu+ssh://ws2/system"), hosts.parse("qemu+ssh://root@ws3:2222/system")


def test_other_hosts_take_only_the_modules_that_may_run_there_longest_first() -> None:
    units = [("story.py", 30), ("corpus.py::c[a]", 20), ("corpus.py::c[b]", 9), ("walk.py", 14), ("tiny.py", 1)]
    planned = lanes.plan(units, 1, [WS2, WS3, WS2], lambda unit: unit.startswith("corpus.py"))
    assert [(lane.host.name, lane.units) for lane in planned] == [
        ("this machine", ("story.py", "walk.py", "tiny.py")), ("ws2", ("corpus.py::c[a]",)), ("ws3", ("corpus.py::c[b]",))]


def test_with_no_lane_here_a_module_bound_to_this_machine_is_one_clear_line() -> None:
    with pytest.raises(YarakashiError, match=r"^story.py runs its VMs on this machine only \(it has no 'ANY_HOST = True' "
                                             r"line\) and no lane here is left for it: --lanes 1 or more$"):
        lanes.plan([("tests/lab/story.py", 30)], 0, [WS2])


def test_another_host_takes_a_lane_for_every_two_guests_it_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its cores and memory as libvirt there reports them; a host that does not answer is one line."""
    told = {"ws2": "CPU model:           x86_64\nCPU(s):              16\nMemory size:         16777216 KiB\n",
            "ws3": "CPU model:           x86_64\nCPU(s):              2\nMemory size:         24000000 KiB\n"}

    def virsh(*args: str, check: bool = True, uri: str = "") -> subprocess.CompletedProcess[str]:
        assert args == ("nodeinfo",) and not check
        name = hosts.parse(uri).name
        if name not in told:
            return subprocess.CompletedProcess(args, 1, "", "error: failed to connect to the hypervisor\n"
                                               "error: Cannot recv data: ssh: connect to host ws4 port 22: No route to host\n")
        return subprocess.CompletedProcess(args, 0, told[name], "")

    monkeypatch.setattr(labnet, "virsh", virsh)
    largest = capacity.largest_guest_mib()
    assert lanes.lanes_on(WS2) == (16_384 - capacity.RESERVE_MIB) // largest // 2  # memory bounds it (4 lanes at 1.5 GiB a guest)
    assert lanes.lanes_on(WS3) == 2  # cores bound it: 2 a core, 4 guests
    with pytest.raises(YarakashiError, match=r"^--host qemu\+ssh://ws4/system: libvirt there does not answer: error: "
                                             r"Cannot recv data: ssh: connect to host ws4 port 22: No route to host$"):
        lanes.lanes_on(hosts.parse("qemu+ssh://ws4/system"))
    assert [h.name for h in lanes.spread([WS2, WS3], [3, 1])] == ["ws2", "ws3", "ws2", "ws2"]


def test_a_lane_on_another_host_makes_its_vms_there_and_a_lane_here_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each lane's pytest gets its host in ``YARAKASHI_HOST`` (a lane here an empty one, whatever the caller's)."""
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    monkeypatch.setenv(hosts.ENV, "qemu+ssh://stale/system")
    monkeypatch.setattr(lanes, "lanes_on", lambda host: 1)
    modules = tmp_path / "lab"
    modules.mkdir()
    probe = "import os\n\ndef test_where(record_property):\n    record_property('host', os.environ['YARAKASHI_HOST'])\n"
    (modules / "test_here.py").write_text("TEST_MINUTES = 9\n" + probe)
    (modules / "test_there.py").write_text("ANY_HOST = True\nTEST_MINUTES = 5\n" + probe)
    (modules / "test_also_there.py").write_text("ANY_HOST = True\nTEST_MINUTES = 4\n" + probe)
    code, totals = lanes.run(modules, 1, ["-p", "no:cacheprovider"], others=[WS2, WS3])
    assert (code, totals) == (0, {"passed": 3, "failed": 0, "skipped": 0})
    seen = {}
    for xml in (tmp_path / "work" / "reports").glob("lane-*.xml"):
        for case in ET.parse(xml).getroot().iter("testcase"):
            seen[case.get("classname")] = next(p.get("value") for p in case.iter("property"))
    assert seen == {"test_here": "", "test_there": WS2.uri, "test_also_there": WS3.uri}
