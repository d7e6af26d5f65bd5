"""How a scripted step ended, read from the Vagrant log: ``provisioning/common/run-step.sh``
prints one line at its end (exit status, the bound it ran past, the last failed command).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: The line common/run-step.sh prints when a step ends, and the failed command it noted.
STEP_END = re.compile(r"\[yarakashi\] step (?P<phase>\S+) exited (?P<rc>\d+)(?P<late> \(did not finish within \d+ s\))?"
                      r"(?: \(last failed command: (?P<last>.*)\))?$")
#: How Vagrant prefixes what a step prints.
GUEST_OUTPUT = re.compile(r"^(?:\[[^]]*\] )?\s+default: (?P<line>.*)$")


@dataclass(frozen=True)
class StepRun:
    """How a scripted step ended: its script's exit status (None when it never reported one,
    e.g. Vagrant failed to upload it) and the last command that failed in it.

    >>> StepRun.from_log("fix", "  default: [yarakashi] step fix exited 1 (last failed command: line 7: cp -r a b (exit 1))")
    StepRun(phase='fix', exit_code=1, last_failed='line 7: cp -r a b (exit 1)', bound=0, last_output='')
    >>> StepRun.from_log("fix", "[x/y/z]     default: Running: /tmp/vagrant-shell1.sh\\n"
    ...                  "[x/y/z]     default: waiting for mariadb\\n"
    ...                  "[x/y/z]     default: [yarakashi] step fix exited 124 (did not finish within 300 s)").describe()
    'fix did not finish within 300 s (ended with exit 124); its last output: waiting for mariadb'
    >>> StepRun.from_log("break", "[x/y/z]     default: lib/\\n[x/y/z]     default: [yarakashi] step break exited 2").output
    'lib/'
    >>> bool(StepRun("fix", 0)), StepRun("fix", None).describe()
    (True, 'fix did not report an exit status (see the log)')
    >>> StepRun("fix", 124, bound=300, last_output="restarting mariadb").describe()
    'fix did not finish within 300 s (ended with exit 124); its last output: restarting mariadb'
    """

    phase: str
    exit_code: int | None
    last_failed: str = ""
    bound: int = 0  # set when the step ran past its bound
    last_output: str = ""
    output: str = field(default="", repr=False, compare=False)  # every line the step printed

    def __bool__(self) -> bool:
        return self.exit_code == 0

    @classmethod
    def from_log(cls, phase: str, text: str) -> "StepRun":
        lines = text.splitlines()
        for n in range(len(lines) - 1, -1, -1):
            found = STEP_END.search(lines[n].rstrip())
            if found and found["phase"] == phase:
                printed = [m["line"].strip() for m in map(GUEST_OUTPUT.match, lines[:n])
                           if m and m["line"].strip() and not m["line"].startswith("Running: /tmp/vagrant-shell")]
                bound = int(found["late"].split()[-2]) if found["late"] else 0
                return cls(phase, int(found["rc"]), found["last"] or "", bound, " | ".join(printed[-3:]), "\n".join(printed))
        return cls(phase, None)

    def describe(self) -> str:
        """``fix exited 1; last failed command: line 7: cp -r a b (exit 1)``"""
        if self.bound:
            return (f"{self.phase} did not finish within {self.bound} s (ended with exit {self.exit_code}); "
                    f"its last output: {self.last_output or 'none'}")
        if self.exit_code is None:
            return f"{self.phase} did not report an exit status (see the log)"
        where = f"; last failed command: {self.last_failed}" if self.last_failed else ""
        return f"{self.phase} exited {self.exit_code}{where}"
