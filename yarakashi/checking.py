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

from yarakashi import YarakashiError, evidence, failures, model, paths, states, verdict
from yarakashi.machine import Machine
from yarakashi.progress import Timeout, say
from yarakashi.steps import StepRun

#: Seconds a fix script may run before it is ended (``--fix-bound``).
FIX_BOUND = 300
#: The saved state every fix of a multi-fix check starts from.
BEFORE_FIX = "before-fix"


@dataclass(frozen=True)
class Fix:
    """A fix to judge: a script (None: the lab's own) and how long it may run."""

    script: Path | None = None
    bound: int = FIX_BOUND


def split(steps: Sequence[str]) -> tuple[list[str], list[str]]:
    """The check list as (before the fix, after it)."""
    n = list(steps).index("fix")
    return list(steps[:n]), list(steps[n + 1:])


def refuse(lab: model.Lab, fixes: Sequence[Fix]) -> None:
    """Refuse, before anything is made, a lab without a check list or a fix script that is not there."""
    if not lab.check or "verify" not in lab.steps or "fix" not in lab.check:
        raise YarakashiError(f"lab {lab.name} has no check list (check = [..., \"fix\", ..., \"verify\"] in lab.toml)")
    for fix in fixes:
        if fix.script and not fix.script.is_file():
            raise YarakashiError(f"fix script not found: {fix.script}")


#: When ``check`` keeps the VM: never, when the (last) verdict failed, or always.
KEEP = ("never", "failed", "always")


def check(
    m: Machine, fixes: Sequence[Fix], keep: str = "never", verify_wait: int = 300,
    each: Callable[[verdict.Report], None] | None = None, keep_state: bool = False,
) -> list[verdict.Report]:
    """Judge ``fixes`` on the check VM ``m`` (made here, or resumed from its kept state): a
    report each, in order (``each`` is called as each ends).

    ``keep`` (one of :data:`KEEP`) says when the VM stays afterwards, running, to look inside;
    ``keep_state`` keeps it otherwise stopped, for its saved state. An interrupt removes it
    whatever they say, and gives no verdict.
    """
    model.choose("keep mode", keep, list(KEEP))
    lab = m.lab
    refuse(lab, fixes)
    before, after = split(lab.check)
    reports: list[verdict.Report] = []
    try:
        start = time.monotonic()
        _ready(m, before, states.key(lab, m.platform, before))
        for n, fix in enumerate(fixes):
            if len(fixes) > 1:
                say(f"fix {n + 1} of {len(fixes)}: {fix.script or 'the lab fix'} (from the saved state {BEFORE_FIX!r})")
            if n:
                start = time.monotonic()
                m.states.return_to(BEFORE_FIX)
            reports.append(_judge(m, fix, before, after, verify_wait, start, n + 1))
            if each:
                each(reports[-1])
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
    organisers' checks). Their changes are the fix; nothing is reset or replaced."""
    _, after = split(m.lab.check)
    start = time.monotonic()
    phases = _steps(m, after, ["your changes"], verify_wait)
    plat = m.platform.name
    header = [f"{m.lab.name} on {plat}: your changes on {m.domain}, then {' -> '.join(after)}",
              *([f"fixed means: {'; '.join(m.lab.fixed)}"] if m.lab.fixed else [])]
    facts = {"lab": m.lab.name, "platform": plat, "evidence": m.platform.evidence}
    return verdict.Report("lab.check", m.name, phases, header, facts, time.monotonic() - start)


def _ready(m: Machine, before: list[str], key: str) -> bool:
    """Bring ``m`` to the state before the fix: the kept one if it still stands, else made and
    saved on a fresh VM. True when the kept one was used."""
    kept = m.states.get(BEFORE_FIX)
    if kept and kept["key"] == key:
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
    _steps(m, before, [])
    m.states.save(BEFORE_FIX, key)
    return False


def _judge(m: Machine, fix: Fix, done: list[str], after: list[str], verify_wait: int, start: float,
           number: int = 1) -> verdict.Report:
    """Run ``fix`` and the steps after it on ``m``: the report (a FAIL keeps its evidence)."""
    m.scripts.pop("fix", None)
    if fix.script:
        m.scripts["fix"] = fix.script
    m.bounds["fix"] = fix.bound
    fix_run = m.steps.run("fix", check=False)
    phases = _steps(m, after, [*done, "fix"], verify_wait)
    report = _report(m, fix, fix_run, phases, time.monotonic() - start)
    if not report.passed:
        name = fix.script.stem if fix.script else "lab-fix"
        dest = paths.WORK / "reports" / m.lab.name / f"{m.platform.name}-{m.instance}" / f"{number:02d}-{name}"
        report.facts["files"] = evidence.save(m, dest)
        report.elapsed = time.monotonic() - start
    return report


def _steps(m: Machine, steps: list[str], done: list[str], verify_wait: int = 300) -> list[tuple[str, list[verdict.Check]]]:
    """Run ``steps`` (``done`` ran before them); the verify phases, up to the first that fails."""
    phases: list[tuple[str, list[verdict.Check]]] = []
    for step in steps:
        if step == "reboot":
            try:
                m.reboot()
            except (Timeout, failures.ToolFailed) as exc:  # a fix that breaks the boot: a verdict, not an error
                phases.append((f"reboot (after {' -> '.join(done)})", [verdict.Check(
                    "back over SSH after a real reboot", "a new boot answers", f"{exc}", False,
                    "the server must come back from a reboot: the organisers' test starts with one")]))
                say(f"{phases[-1][0]}:\n{verdict.table(phases[-1][1])}")
                break
        elif step == "verify":
            checks = m.steps.verify(wait=verify_wait)
            phases.append((f"verify (after {' -> '.join(done)})", checks))
            say(f"{phases[-1][0]}:\n{verdict.table(checks)}")
            if not verdict.passed(checks):
                break
        else:
            m.steps.run(step, check=step != "break")
        done = [*done, step]
    return phases


def _report(m: Machine, fix: Fix, fix_run: StepRun, phases: list[tuple[str, list[verdict.Check]]],
            elapsed: float) -> verdict.Report:
    lab, plat = m.lab, m.platform.name
    expected = "; ".join(f"{k}: {v}" for k, v in lab.expect.get(plat, {}).items()) or "(none stated)"
    script = fix.script or lab.script("fix", plat)
    header = [f"{lab.name} on {plat}, fix {fix.script or lab.steps_for(plat)['fix']}",
              f"expected ({model.EVIDENCE[m.platform.evidence]}): {expected}",
              *([f"fixed means: {'; '.join(lab.fixed)}"] if lab.fixed else []),
              f"the fix script: {'your ' if fix.script else ''}{fix_run.describe()}"]
    facts = {"lab": lab.name, "platform": plat, "evidence": m.platform.evidence,
             "fix": {"path": str(script), "sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
                     "exit_code": fix_run.exit_code, "ended": fix_run.describe()}}
    return verdict.Report("lab.check", m.name, phases, header, facts, elapsed)
