"""One result model for every verdict: in-guest verify, ``lab.check``, ``lab.retest`` and
``retest --host``. A verdict is a list of named checks, each with what was expected, what was
observed, whether it passed, and a reason a trainee can read; a table for people, JSON for
machines. The guest's verify scripts emit one JSON object a line (``common/checks.sh``).

>>> checks = [Check.compare("mariadb.service", "active", "active"),
...           Check("no unit activating", "none", "mariadb.service", False, "a start job never finished")]
>>> print(table(checks))
RESULT  CHECK               DETAIL
PASS    mariadb.service     active
FAIL    no unit activating  expected 'none', got 'mariadb.service': a start job never finished
FAIL: 1 of 2 checks failed
>>> parse('noise\\n{"check": "x", "expected": "1", "observed": "1", "passed": true}') == [Check("x", "1", "1", True)]
True
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: The JSON schema of :meth:`Report.to_dict` (what ``--json`` prints), for other projects to validate against.
SCHEMA = Path(__file__).with_name("verdict.schema.json")


@dataclass(frozen=True)
class Check:
    """One named check of a verdict."""

    name: str
    expected: str
    observed: str
    passed: bool
    reason: str = ""

    @classmethod
    def compare(cls, name: str, expected: str, observed: str, reason: str = "") -> "Check":
        """Passed when ``observed`` is ``expected``."""
        return cls(name, expected, observed, expected == observed, reason)

    @property
    def detail(self) -> str:
        """What the table shows: the observation, and on a failure what was expected and why."""
        if self.passed:
            return self.observed
        said = f"expected '{self.expected}', got '{self.observed}'" if self.expected else self.observed
        return f"{said}: {self.reason}" if self.reason else said

    def to_dict(self) -> dict[str, object]:
        """The JSON form: ``{"check": ..., "expected": ..., "observed": ..., "passed": ..., "reason": ...}``."""
        data = asdict(self)
        data["check"] = data.pop("name")
        return data


def parse(text: str) -> list[Check]:
    """The checks in a verify script's output: its JSON lines (anything else is ignored)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"check"' in line:
            data = json.loads(line)
            found.append(Check(str(data["check"]), str(data.get("expected", "")), str(data.get("observed", "")),
                               bool(data["passed"]), str(data.get("reason", ""))))
    return found


def passed(checks: list[Check]) -> bool:
    """True when there are checks and every one passed."""
    return bool(checks) and all(c.passed for c in checks)


def table(checks: list[Check]) -> str:
    """The PASS/FAIL table, with a last line that says PASS or FAIL."""
    width = max([len("CHECK"), *(len(c.name) for c in checks)])
    lines = [f"{'RESULT':<7} {'CHECK':<{width}}  DETAIL".rstrip()]
    lines += [f"{'PASS' if c.passed else 'FAIL':<7} {c.name:<{width}}  {c.detail}".rstrip() for c in checks]
    failed = sum(not c.passed for c in checks)
    lines.append(f"FAIL: {failed} of {len(checks)} checks failed" if failed else f"PASS: all {len(checks)} checks passed")
    return "\n".join(lines)


@dataclass
class Report:
    """A whole verdict: what was checked where, in phases of named checks, and how long it took.

    ``lab.check`` has a phase per verify step (``after`` says what ran before it); a retest has one.
    Rendered as text for people (:meth:`text`) and as one JSON object for machines (:meth:`to_dict`).

    >>> r = Report("lab.retest", "memory-engine/debian12-merged (main)", [("the boot", [Check.compare("x", "1", "1")])])
    >>> r.passed, r.to_dict()["verdict"], r.text().splitlines()[-1]
    (True, 'PASS', 'observed: PASS')
    """

    kind: str
    target: str
    phases: list[tuple[str, list[Check]]]
    header: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)  # lab, platform, evidence, fix...
    elapsed: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.phases) and all(passed(checks) for _, checks in self.phases)

    def text(self) -> str:
        lines = [*self.header]
        for after, checks in self.phases:
            lines += [f"{after}:", table(checks)]
        return "\n".join([*lines, f"observed: {'PASS' if self.passed else 'FAIL'}"])

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "target": self.target, **self.facts,
            "phases": [{"after": after, "checks": [c.to_dict() for c in checks]} for after, checks in self.phases],
            "elapsed_seconds": round(self.elapsed, 1), "verdict": "PASS" if self.passed else "FAIL",
        }

    def to_junit(self) -> ET.Element:
        """JUnit XML: a test suite per report, a test case per check, the facts as properties.

        >>> r = Report("lab.check", "x", [("verify", [Check.compare("/lib", "symlink", "directory")])], facts={"lab": "l"})
        >>> ET.tostring(r.to_junit()).decode()[:60]
        '<testsuite name="lab.check x" tests="1" failures="1" time="0'
        """
        failed = sum(not c.passed for _, checks in self.phases for c in checks)
        count = sum(len(checks) for _, checks in self.phases)
        suite = ET.Element("testsuite", name=f"{self.kind} {self.target}", tests=str(count), failures=str(failed),
                           time=f"{self.elapsed:.1f}")
        props = ET.SubElement(suite, "properties")
        for key, value in self.facts.items():
            ET.SubElement(props, "property", name=key, value=json.dumps(value) if isinstance(value, dict) else str(value))
        for after, checks in self.phases:
            for c in checks:
                case = ET.SubElement(suite, "testcase", classname=after, name=c.name)
                if not c.passed:
                    ET.SubElement(case, "failure", message=c.detail).text = c.detail
        return suite

    def write_junit(self, path: Path) -> None:
        """Write :meth:`to_junit` to ``path`` (its directory is made)."""
        write_junit([self], path)


def write_junit(reports: list[Report], path: Path) -> None:
    """JUnit XML for ``reports``: the one suite, or ``<testsuites>`` around several."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = reports[0].to_junit() if len(reports) == 1 else ET.Element("testsuites")
    if len(reports) > 1:
        root.extend(r.to_junit() for r in reports)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
