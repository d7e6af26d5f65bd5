"""What the suite's pytest runs wrote (JUnit XML): outcomes summed, the worst exit code, the
failed tests by name, the lane that bounded the wall time, what a stopped lane did not run, and
one report of them all.

>>> worst([0, 5], ran=1)
0
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path


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


def unfinished(units: Sequence[str], xml: Path) -> tuple[list[str], str]:
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
