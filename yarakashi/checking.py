"""``lab.check``: fixes judged on a real VM through the lab's ``check`` list, a verdict each.

The steps before ``fix`` run once on a fresh VM, real reboots included, and the running guest
is saved with its memory; each fix after the first resumes that state in seconds (the same
boot: no step is skipped or faked). Steps from ``fix`` on run in full for every fix, real
reboots included. With ``keep_state`` the VM is kept, stopped, with that state: the next check
of the lab on the platform starts from it while its key (:func:`states.key`) is the same.

>>> split(["prepare", "break", "reboot", "fix", "reboot", "verify"])
(['prepare', 'break', 'reboot'], ['reboot', 'verify'])
>>> split(["fix", "verify", "reboot", "verify"])
([], ['verify', 'reboot', 'verify'])
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from yarakashi import YarakashiError, evidence, failures, model, paths, states, verdict, workshop
from yarakashi.machine import Machine
from yarakashi.progress import say
from yarakashi.steps import StepRun

#: Seconds a fix script may run before it is ended (``--fix-bound``).
FIX_BOUND = 300
#: The check a fix that ran past its bound fails (a corpus script's header may name it).
BOUND_CHECK = "fix finished within its bound"
#: The saved state every fix of a multi-fix check starts from.
BEFORE_FIX = "before-fix"


@dataclass(frozen=True)
class Fix:
    """A fix to judge: a script (None: the lab's own) and how long it may run."""

    script: Path | None = None
    bound: int = FIX_BOUND

    def __post_init__(self) -> None:
        if self.script and not self.script.is_file():  # refused before anything is made
            raise YarakashiError(f"fix script not found: {self.script}")


def split(steps: Sequence[str]) -> tuple[list[str], list[str]]:
    """The check list as (before the fix, after it)."""
    n = list(steps).index("fix")
    return list(steps[:n]), list(steps[n + 1:])


def refuse(lab: model.Lab) -> None:
    """Refuse, before anything is made, a lab without a check list."""
    if not lab.check or "verify" not in lab.steps or "fix" not in lab.check:
        raise YarakashiError(f"lab {lab.name} has no check list (check = [..., \"fix\", ..., \"verify\"] in lab.toml)")


#: When ``check`` keeps the VM: never, when the (last) verdict failed, or always.
KEEP = ("never", "failed", "always")


def check(
    m: Machine, fixes: Sequence[Fix], keep: str = "never", verify_wait: int = 300,
    each: Callable[[verdict.Report], None] | None = None, keep_state: bool = False, fresh: bool = False,
) -> list[verdict.Report]:
    """Judge ``fixes`` on the check VM ``m`` (made here, or resumed from its kept state): a
    report each, in order (``each`` is called as each ends).

    ``keep`` (one of :data:`KEEP`) says when the VM stays afterwards, running, to look inside;
    ``keep_state`` keeps it otherwise stopped, for its saved state; ``fresh`` makes the state
    anew even where a kept one stands. An interrupt removes it whatever they say, and gives no verdict.
    """
    model.choose("keep mode", keep, list(KEEP))
    lab = m.lab
    refuse(lab)
    before, after = split(lab.check)
    reports: list[verdict.Report] = []
    try:
        start = time.monotonic()
        _ready(m, before, states.key(lab, m.platform, before), fresh)
        for n, fix in enumerate(fixes):
            if len(fixes) > 1:
                say(f"fix {n + 1} of {len(fixes)}: {fix.script or 'the lab fix'} (from the saved state {BEFORE_FIX!r})")
            reports.append(_judge(m, fix, before, after, verify_wait, start, n + 1))
            if each:
                each(reports[-1])
            if n + 1 < len(fixes):  # the next fix starts where this one did; its time counts from here
                start = time.monotonic()
                m.states.return_to(BEFORE_FIX)
    except failures.Interrupted as exc:  # no verdict: the VM goes, whatever keep says
        m.destroy()
        exc.cleaned.append(f"VM {m.domain}")
        raise
    finally:
        failed = bool(reports) and not reports[-1].passed
        if keep == "always" or (keep == "failed" and failed):
            say(f"kept {m.domain} as it was after the last fix. Get in: ssh -F {m.ssh_config_path} "
                f"{m.guest.host}; remove it: ./run lab.destroy {lab.name}")
        elif keep_state and m.states.get(BEFORE_FIX):
            m.park()
            say(f"kept the saved state {BEFORE_FIX!r} ({' -> '.join(before) or 'a fresh boot'}) in the stopped VM "
                f"{m.domain}: the next check of {lab.name} on {m.platform.name} starts from it; ./run lab.destroy {lab.name} removes it")
        else:
            m.destroy()
    return reports


def check_here(m: Machine, verify_wait: int = 300) -> verdict.Report:
    """The trainee's own VM as they left it: the lab's steps after ``fix`` (real reboots, the
    organisers' checks). Their changes are the fix; nothing is reset or replaced. In a workshop
    the time and hints used when they asked go into the report."""
    _, after = split(m.lab.check)
    start = time.monotonic()
    # No "fixed means" line here: to a trainee it is the answer.
    header = [f"{m.lab.name} on {m.platform.name}: your changes on {m.domain}, then {' -> '.join(after)}"]
    facts: dict[str, object] = {"lab": m.lab.name, "platform": m.platform.name, "evidence": m.platform.evidence}
    s = workshop.session(m)
    if s:
        facts["workshop"] = {"minutes_used": s.elapsed(), "minutes": s.minutes, "hints": s.hints, "resets": s.resets,
                             "trainee": workshop.trainee_of(m.instance)}
        header.append(f"workshop: {workshop.status(m)}")
    phases = m.steps.through(after, ["your changes"], verify_wait)
    return verdict.Report("lab.check", m.name, phases, header, facts, time.monotonic() - start)


def _ready(m: Machine, before: list[str], key: str, fresh: bool = False) -> bool:
    """Bring ``m`` to the state before the fix: the kept one if it still stands (and not
    ``fresh``), else made and saved on a fresh VM. True when the kept one was used."""
    kept = m.states.get(BEFORE_FIX)
    if kept and fresh:
        say(f"{m.domain}: the state {BEFORE_FIX!r} saved {kept['saved']} is not used (--fresh): a new VM")
    elif kept and kept["key"] == key:
        say(f"{m.domain}: the state {BEFORE_FIX!r} saved {kept['saved']} still stands (same box, lab and scripts)")
        try:
            m.states.return_to(BEFORE_FIX)
            return True
        except failures.ToolFailed as exc:
            say(f"{exc}: a new VM")
    elif kept:
        say(f"{m.domain}: the state {BEFORE_FIX!r} saved {kept['saved']} is stale (the box, lab or scripts changed): a new VM")
    m.destroy()
    m.up()
    m.steps.through(before, [])
    m.states.save(BEFORE_FIX, key)
    return False


def _judge(m: Machine, fix: Fix, done: list[str], after: list[str], verify_wait: int, start: float,
           number: int = 1) -> verdict.Report:
    """Run ``fix`` and the steps after it on ``m``: the report (a FAIL keeps its evidence). A fix
    that ran past its bound fails a check of its own, and the steps after it still run."""
    m.scripts.pop("fix", None)
    if fix.script:
        m.scripts["fix"] = fix.script
    m.bounds["fix"] = fix.bound
    fix_run = m.steps.run("fix", check=False)
    header, facts = _described(m, fix, fix_run)
    phases = [] if not fix_run.bound else [("fix", [verdict.Check(
        BOUND_CHECK, f"within {fix_run.bound} s", fix_run.describe(), False,
        "a deploy or runbook that never ends is itself a failure: what it left running is judged next")])]
    phases += m.steps.through(after, [*done, "fix"], verify_wait)
    report = verdict.Report("lab.check", m.name, phases, header, facts, time.monotonic() - start)
    if not report.passed:
        name = fix.script.stem if fix.script else "lab-fix"
        dest = paths.WORK / "reports" / m.lab.name / f"{m.platform.name}-{m.instance}" / f"{number:02d}-{name}"
        report.facts["files"] = evidence.save(m, dest)
        report.elapsed = time.monotonic() - start
    return report


def _described(m: Machine, fix: Fix, fix_run: StepRun) -> tuple[list[str], dict[str, object]]:
    """A check report's header lines and facts: the lab, what is expected, the fix and how it ended."""
    lab, plat = m.lab, m.platform.name
    expected = "; ".join(f"{k}: {v}" for k, v in lab.expect.get(plat, {}).items()) or "(none stated)"
    script = fix.script or lab.script("fix", plat)
    header = [f"{lab.name} on {plat}, fix {fix.script or lab.steps_for(plat)['fix']}",
              f"expected ({model.EVIDENCE[m.platform.evidence]}): {expected}",
              *([f"fixed means: {'; '.join(lab.fixed)}"] if lab.fixed else []),
              f"the fix script: {'your ' if fix.script else ''}{fix_run.describe()}"]
    facts: dict[str, object] = {"lab": lab.name, "platform": plat, "evidence": m.platform.evidence,
             "fix": {"path": str(script), "sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
                     "exit_code": fix_run.exit_code, "ended": fix_run.describe()}}
    return header, facts
