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
from dataclasses import asdict, dataclass


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
