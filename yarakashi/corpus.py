"""A lab's fix corpus: scripts under ``labs/<lab>/fixes/`` that must PASS or must FAIL
``lab.check``, each saying so in its header. A wrong fix found later is one file, no Python::

    #!/usr/bin/env bash
    # expect: FAIL mariadb.service start settings
    # why: hides the symptom: systemd stops waiting for READY=1, the stale profile stays
    # fix-bound: 90            (optional: seconds it may run, default checking.FIX_BOUND)
    # exits: 127               (optional: the exit status the script itself must end with)

``expect: PASS`` once, or ``expect: FAIL <check>`` once per check that must be among the
failed ones: the verdict and the reason are both asserted.

>>> case = parse(Path("x.sh"), "# expect: FAIL AppArmor\\n# why: switches it off\\n# fix-bound: 60\\n")
>>> case.verdict, case.fails, case.why, case.bound
('FAIL', ('AppArmor',), 'switches it off', 60)
>>> r = verdict.Report("lab.check", "x", [("verify", [verdict.Check("AppArmor", "on", "off", False)])])
>>> judge(case, r)
[]
>>> judge(parse(Path("y.sh"), "# expect: PASS\\n# why: fine\\n"), r)
['expected PASS, got FAIL (failed: AppArmor)']
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from yarakashi import YarakashiError, catalogue, checking, verdict

#: A header line of a corpus script.
HEADER = re.compile(r"^#\s*(?P<key>expect|why|fix-bound|exits):\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class Case:
    """One corpus script and what ``lab.check`` must say of it."""

    path: Path
    verdict: str  # PASS or FAIL
    fails: tuple[str, ...]  # checks that must be among the failed ones
    why: str
    bound: int = checking.FIX_BOUND
    exits: int | None = None  # the fix script's own exit status, when the header states it

    @property
    def fix(self) -> checking.Fix:
        return checking.Fix(self.path, self.bound)


def parse(path: Path, text: str) -> Case:
    """The case a script's header states; an incomplete header is an error naming the file."""
    expects, why, bound, exits = [], "", checking.FIX_BOUND, None
    for line in text.splitlines()[:20]:
        found = HEADER.match(line)
        if not found:
            continue
        key, value = found["key"], found["value"]
        if key == "expect":
            expects.append(value)
        elif key == "why":
            why = value
        elif key == "exits" and value.isdigit():
            exits = int(value)
        elif key == "exits":
            raise YarakashiError(f"{path}: exits must be an exit status (a whole number), not {value!r}")
        elif value.isdigit() and int(value) > 0:
            bound = int(value)
        else:
            raise YarakashiError(f"{path}: fix-bound must be a whole number of seconds, not {value!r}")
    verdicts = {e.split(maxsplit=1)[0] if e else "" for e in expects}
    fails = tuple(e.split(maxsplit=1)[1] for e in expects if e.startswith("FAIL ") and len(e.split(maxsplit=1)) == 2)
    if not why or verdicts not in ({"PASS"}, {"FAIL"}) or (verdicts == {"PASS"} and len(expects) > 1) \
            or (verdicts == {"FAIL"} and len(fails) != len(expects)):
        raise YarakashiError(f"{path}: the header needs '# expect: PASS' or '# expect: FAIL <check>' lines "
                             f"(one kind) and '# why: <one line>'")
    return Case(path, verdicts.pop(), fails, why, bound, exits)


def cases(lab_name: str) -> list[Case]:
    """The lab's corpus, in name order (none: an empty list)."""
    lab = catalogue.lab(lab_name)
    return [parse(p, p.read_text()) for p in sorted((lab.path / "fixes").glob("*.sh"))]


def judge(case: Case, report: verdict.Report) -> list[str]:
    """What differs from the case's expectation (an empty list: as expected)."""
    failed = [c.name for _, checks in report.phases for c in checks if not c.passed]
    got = "PASS" if report.passed else "FAIL"
    ended = report.facts.get("fix", {}).get("exit_code") if isinstance(report.facts.get("fix"), dict) else None
    if case.exits is not None and ended != case.exits:
        return [f"expected the fix script to exit {case.exits}, it ended with {ended}"]
    if got != case.verdict:
        return [f"expected {case.verdict}, got {got}" + (f" (failed: {'; '.join(failed)})" if failed else "")]
    return [f"expected the check {name!r} to fail; failed: {'; '.join(failed)}" for name in case.fails
            if name not in failed]


def line(case: Case, report: verdict.Report) -> str:
    """One line of a corpus run: ``as expected: FAIL (AppArmor) - switches the protection off``."""
    wrong = judge(case, report)
    failed = [c.name for _, checks in report.phases for c in checks if not c.passed]
    got = "PASS" if report.passed else f"FAIL ({'; '.join(failed) or 'no check ran'})"
    return f"{'as expected' if not wrong else 'NOT AS EXPECTED'}: {got} - {case.why}" + (
        f" [{'; '.join(wrong)}]" if wrong else "")


def summary(cases: list[Case], reports: list[verdict.Report]) -> str:
    """The table at the end of a corpus run, and a last line ``K of N scripts as expected``."""
    width = max(len(c.path.name) for c in cases)
    rows = [f"{'SCRIPT':<{width}}  EXPECTED  GOT   TIME   AS EXPECTED"]
    ok = 0
    for case, report in zip(cases, reports):
        good = not judge(case, report)
        ok += good
        rows.append(f"{case.path.name:<{width}}  {case.verdict:<8}  {'PASS' if report.passed else 'FAIL'}  "
                    f"{report.elapsed:4.0f} s {'yes' if good else 'NO: ' + '; '.join(judge(case, report))}")
    rows.append(f"{ok} of {len(cases)} scripts as expected")
    return "\n".join(rows)


def write_junit(lab: str, cases: list[Case], reports: list[verdict.Report], path: Path) -> None:
    """The corpus run as JUnit XML: a test case per script that passes when the verdict is the
    one its header expects (an expected FAIL is a passing case), carrying the verdict, the
    failed checks and the script's reason as properties.

    >>> import tempfile
    >>> case, r = parse(Path("x.sh"), "# expect: FAIL AppArmor\\n# why: off\\n"), verdict.Report(
    ...     "lab.check", "x", [("verify", [verdict.Check("AppArmor", "on", "off", False)])])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_junit("l", [case], [r], Path(d) / "j.xml")
    ...     print((Path(d) / "j.xml").read_text().split("?>")[1].strip()[:71])
    <testsuite name="lab.corpus l" tests="1" failures="0" time="0.0"><testc
    """
    wrong = [judge(c, r) for c, r in zip(cases, reports)]
    suite = ET.Element("testsuite", name=f"lab.corpus {lab}", tests=str(len(cases)), failures=str(sum(map(bool, wrong))),
                       time=f"{sum(r.elapsed for r in reports):.1f}")
    for case, report, mismatch in zip(cases, reports, wrong):
        one = ET.SubElement(suite, "testcase", classname=f"lab.corpus.{lab}", name=case.path.name, time=f"{report.elapsed:.1f}")
        props = ET.SubElement(one, "properties")
        failed = [c.name for _, checks in report.phases for c in checks if not c.passed]
        for key, value in (("expected", case.verdict), ("verdict", "PASS" if report.passed else "FAIL"),
                           ("failed_checks", json.dumps(failed)), ("why", case.why)):
            ET.SubElement(props, "property", name=key, value=value)
        if mismatch:
            ET.SubElement(one, "failure", message="; ".join(mismatch)).text = report.text()
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
