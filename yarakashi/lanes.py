"""Run the lab tests in parallel lanes, longest first: each test module, or, of a module
parametrized per lab (the fix corpus), each lab's case on its own.

Most of a lab test's time is waiting: a real reboot, or apparmor-cache's 15-minute
``TimeoutStartSec``. Two lanes let one lab's idle wait overlap another lab's work; more
would make TCG guests fight over 2 cores. Each lane is a pytest process whose output is
streamed with a ``[lane N]`` prefix (pytest-xdist would hide live progress).

>>> plan([("a.py", 5), ("b.py", 30), ("c.py", 10), ("d.py", 20)], lanes=2)
[['b.py', 'a.py'], ['d.py', 'c.py']]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

from yarakashi import YarakashiError, catalogue, failures, paths
from yarakashi.progress import say

#: Minutes a test module without a lab (or a lab without ``test_minutes``) is assumed to take.
DEFAULT_MINUTES = 10
#: A test module parametrized per lab names the lab.toml key of each lab's minutes
#: (``MINUTES_PER_LAB = "corpus_minutes"``): the lanes plan each lab's case as a unit.
PER_LAB = re.compile(r'^MINUTES_PER_LAB = "(\w+)"', re.M)


def plan(units: list[tuple[str, float]], lanes: int) -> list[list[str]]:
    """Longest-processing-time-first: each unit (a module's path, or a test's node id) goes to
    the lane that is free soonest."""
    load = [0.0] * lanes
    out: list[list[str]] = [[] for _ in range(lanes)]
    for name, minutes in sorted(units, key=lambda m: -m[1]):
        lane = load.index(min(load))
        out[lane].append(name)
        load[lane] += minutes
    return [lane for lane in out if lane]


def units(directory: Path) -> list[tuple[str, float]]:
    """What the lanes run, with its expected minutes: each test module, by ``test_minutes`` in
    the lab's lab.toml or a ``TEST_MINUTES = N`` line in a module that is not a lab's; a module
    parametrized per lab (``MINUTES_PER_LAB``) is split into :func:`lab_cases`."""
    minutes = {f"test_{lab.name.replace('-', '_')}.py": lab.test_minutes for lab in catalogue.labs().values()}
    found = []
    for path in sorted(directory.glob("test_*.py")):
        text = path.read_text()
        per_lab = PER_LAB.search(text)
        if per_lab:
            found += lab_cases(path, per_lab[1])
            continue
        declared = re.search(r"^TEST_MINUTES = (\d+)", text, re.M)
        found.append((str(path), minutes.get(path.name) or (float(declared[1]) if declared else DEFAULT_MINUTES)))
    return found


def lab_cases(module: Path, key: str) -> list[tuple[str, float]]:
    """Each test of ``module`` as pytest collects it (``/.../test_corpus.py::test_x[memory-engine]``,
    a node id pytest runs alone), with the ``key`` minutes of the lab its id ends with; the whole
    module when it does not collect, so that its lane shows why."""
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(module)]
    done = subprocess.run(collect, cwd=paths.REPO, capture_output=True, text=True)
    if done.returncode not in (0, NO_TESTS):
        return [(str(module), DEFAULT_MINUTES)]
    labs = catalogue.labs()
    found = []
    for line in done.stdout.split("\n\n", 1)[0].splitlines():  # the node ids; a warnings summary may follow
        if "::" not in line:
            continue
        test = line.split("::", 1)[1]  # the node id's module part is relative to a rootdir; the lanes pass paths
        lab = labs.get(test.rpartition("[")[2].removesuffix("]"))
        if lab and not hasattr(lab, key):
            raise YarakashiError(f"{module}: MINUTES_PER_LAB is {key!r}, not a lab.toml key")
        found.append((f"{module}::{test}", getattr(lab, key, 0) or DEFAULT_MINUTES))
    return found


#: A lab VM back over SSH after a real reboot, as ``guest.await_new_boot`` says it.
BACK = re.compile(r" back from reboot: after (\d+) s$")


def reboot_summary(seconds: list[int]) -> str:
    """The suite's closing line on reboots: how long one took, from ``systemctl reboot`` to SSH.

    >>> reboot_summary([29, 63, 31, 30])
    'reboot to SSH: 30 s (the median of 4 real reboots; 29 to 63 s)'
    >>> reboot_summary([])
    'reboot to SSH: no real reboot ran'
    """
    if not seconds:
        return "reboot to SSH: no real reboot ran"
    ordered = sorted(seconds)
    return (f"reboot to SSH: {ordered[(len(ordered) - 1) // 2]} s (the median of {len(ordered)} real reboots; "
            f"{ordered[0]} to {ordered[-1]} s)")


def _pump(lane: int, proc: subprocess.Popen[str], reboots: list[int]) -> None:
    assert proc.stdout
    for line in proc.stdout:
        sys.stdout.write(f"[lane {lane}] {line}")
        sys.stdout.flush()
        found = BACK.search(line.rstrip("\n"))
        if found:
            reboots.append(int(found[1]))  # list.append is atomic: the lanes' pumps share it


def run(directory: Path, lanes: int, extra: list[str], deadline: float | None = None) -> tuple[int, dict[str, int]]:
    """Run the lanes; return the worst exit code and the summed outcome counts.

    Past ``deadline`` (a ``time.monotonic()`` instant) the lanes are stopped as by Ctrl-C (their
    VMs removed), and what did not finish is named: exit 124."""
    groups = plan(units(directory), lanes)
    report_dir = paths.WORK / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    procs, pumps = [], []
    reboots: list[int] = []
    for n, group in enumerate(groups, 1):
        say(f"lane {n}: {' '.join(Path(u).name for u in group)}")
        xml = report_dir / f"lane-{n}.xml"
        xml.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "pytest", "-s", "-v", f"--junitxml={xml}", *group, *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "YARAKASHI_LANE": str(n), "YARAKASHI_LAB_TESTS": "1"}
        proc = subprocess.Popen(cmd, cwd=paths.REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append((proc, xml))
        pump = threading.Thread(target=_pump, args=(n, proc, reboots), daemon=True)
        pump.start()
        pumps.append(pump)
    try:
        codes = failures.wait_children([proc for proc, _ in procs], deadline=deadline)  # a killed lane: 128 + signal
        late = False
    except failures.DeadlinePassed:
        codes, late = [124], True
    for pump in pumps:
        pump.join()
    say(reboot_summary(reboots))
    totals = outcomes([xml for _, xml in procs])
    if late:
        for n, ((_, xml), group) in enumerate(zip(procs, groups), 1):
            left, last = unfinished(group, xml)
            say(f"lane {n} stopped at the deadline; did not run: {' '.join(left) or 'nothing'}"
                + (f" (and maybe the rest of {last})" if last else ""))
        return 124, totals
    for n, ((_, xml), code) in enumerate(zip(procs, codes), 1):
        if not xml.exists():  # killed before pytest wrote its report: its tests did not pass
            say(f"lane {n} ended without a report (exit {code}): counted as one failed test")
            totals["failed"] += 1
    say(critical_path([xml for _, xml in procs]))
    return worst(codes, sum(totals.values())), totals


#: pytest's exit code when it collected no test (a ``-k`` filter can leave a lane empty).
NO_TESTS = 5


def worst(codes: list[int], ran: int) -> int:
    """The exit code of several pytest runs that ran ``ran`` tests in all: the worst of them, where
    "no tests collected" counts only when no run had a test.

    >>> worst([0, 5], ran=1), worst([5, 5], ran=0), worst([1, 5], ran=3), worst([], ran=0)
    (0, 5, 1, 5)
    """
    if not ran:
        return max(codes, default=NO_TESTS)
    return max((c for c in codes if c != NO_TESTS), default=0)


def _label(case: ET.Element) -> str:
    """A JUnit test case as the suite names it: ``test_module::test_name``."""
    return f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"


def critical_path(reports: list[Path]) -> str:
    """Which lane bounded the wall time, and its longest tests.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "lane-1.xml").write_text('<testsuite time="90"><testcase classname="tests.lab.test_a" name="t1" time="80"/>'
    ...                                  '<testcase classname="tests.lab.test_a" name="t2" time="10"/></testsuite>')
    >>> _ = (d / "lane-2.xml").write_text('<testsuite time="30"><testcase classname="tests.lab.test_b" name="t3" time="30"/></testsuite>')
    >>> print(critical_path([d / "lane-1.xml", d / "lane-2.xml"]))
    critical path: lane-1 (90 s; lane-2 30 s); its longest tests: test_a::t1 80 s, test_a::t2 10 s
    """
    lanes = []
    for xml in reports:
        if xml.exists():
            root = ET.parse(xml).getroot()
            cases = sorted(((float(c.get("time", 0)), _label(c))
                            for c in root.iter("testcase")), reverse=True)
            lanes.append((sum(float(s.get("time", 0)) for s in root.iter("testsuite")), xml.stem, cases))
    if not lanes:
        return "critical path: no lane report"
    lanes.sort(reverse=True)
    took, name, cases = lanes[0]
    others = "; ".join(f"{n} {t:.0f} s" for t, n, _ in lanes[1:])
    longest = ", ".join(f"{label} {t:.0f} s" for t, label in cases[:3])
    return f"critical path: {name} ({took:.0f} s{'; ' + others if others else ''}); its longest tests: {longest}"


def unfinished(units: list[str], xml: Path) -> tuple[list[str], str]:
    """A stopped lane: the units (modules, node ids) with no result in its report, and the last
    one with results (it may have been stopped part way).

    >>> unfinished(["tests/lab/test_a.py", "tests/lab/test_b.py"], Path("/nonexistent.xml"))
    (['test_a.py', 'test_b.py'], '')
    >>> import tempfile
    >>> xml = Path(tempfile.mkdtemp()) / "lane-1.xml"
    >>> _ = xml.write_text('<testsuite><testcase classname="tests.lab.test_c" name="test_x[lab-1]"/></testsuite>')
    >>> unfinished(["tests/lab/test_c.py::test_x[lab-1]", "tests/lab/test_c.py::test_x[lab-2]"], xml)
    (['test_c.py::test_x[lab-2]'], 'test_c.py::test_x[lab-1]')
    """
    seen: set[str] = set()
    for case in ET.parse(xml).getroot().iter("testcase") if xml.exists() else []:
        module, name = _label(case).split("::", 1)
        seen |= {f"{module}.py", f"{module}.py::{name}"}
    names = [Path(u).name for u in units]
    return [n for n in names if n not in seen], next((n for n in reversed(names) if n in seen), "")


def merge(reports: list[Path], out: Path) -> Path:
    """One JUnit file of every report that exists (``<testsuites>``), for a CI to read once."""
    merged = ET.Element("testsuites")
    for xml in reports:
        if xml.exists():
            root = ET.parse(xml).getroot()
            merged.extend(root.iter("testsuite") if root.tag == "testsuites" else [root])
    ET.ElementTree(merged).write(out, encoding="utf-8", xml_declaration=True)
    return out


def failed(reports: list[Path]) -> list[str]:
    """Each failed or erred test of the reports, with the first line of its message: what a
    reader of a CI log's last lines needs when the lane that failed printed long before.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "r.xml").write_text('<testsuite><testcase classname="tests.lab.test_a" name="t1"><failure message="AssertionError: boom&#10;more"/>'
    ...                              '</testcase><testcase classname="tests.lab.test_a" name="t2"/></testsuite>')
    >>> failed([d / "r.xml", d / "none.xml"])
    ['test_a::t1: AssertionError: boom']
    """
    found = []
    for xml in reports:
        for case in ET.parse(xml).getroot().iter("testcase") if xml.exists() else []:
            for bad in (*case.iter("failure"), *case.iter("error")):
                message = (bad.get("message") or bad.text or "").strip().splitlines() or ["no message"]
                found.append(f"{_label(case)}: {message[0][:300]}")
    return found


def outcomes(reports: list[Path]) -> dict[str, int]:
    """Passed, failed (failures + errors) and skipped tests summed over junit-xml reports."""
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for xml in reports:
        for suite in ET.parse(xml).getroot().iter("testsuite") if xml.exists() else []:
            tests, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            totals["failed"] += fail
            totals["skipped"] += skipped
            totals["passed"] += tests - fail - skipped
    return totals
