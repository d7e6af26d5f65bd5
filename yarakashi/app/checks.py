"""Verdicts: a fix judged on a fresh VM through real reboots, the trainee's own VM as they left
it, the lab's whole fix corpus, and the organisers' reboot test (on a lab VM or a team's server).

>>> [c.path.name for c in corpus_cases(target.resolve("rsync-dirlinks"), "cp-recursive")]
['cp-recursive.sh']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from yarakashi import YarakashiError, checking, corpus, guest, model, retest, verdict
from yarakashi.app import target
from yarakashi.app.target import Target
from yarakashi.machine import Machine
from yarakashi.progress import say


def check(t: Target, fixes: list[Path], keep: str = "never", fix_bound: int = checking.FIX_BOUND, verify_wait: int = 300,
          keep_state: bool = False, fresh: bool = False) -> list[verdict.Report]:
    """``lab.check``: each fix (none: the lab's own) judged on the target's platform (default: the
    lab's last offline one), a report each; ``t.instance`` ``main`` means the ``check`` VM.

    How a trainee checks a solution, and how another project proves its procedure safe.
    ``keep_state``: keep the VM stopped with its saved state for the next check; ``fresh``:
    remove a kept one first.
    """
    m = check_vm(t)
    chosen = [checking.Fix(f, fix_bound) for f in fixes] or [checking.Fix(None, fix_bound)]
    with target.hold(m):
        return checking.check(m, chosen, keep, verify_wait, keep_state=keep_state, fresh=fresh)


def check_vm(t: Target, default: str = "check") -> Machine:
    """The VM a check of ``t`` makes (or finds kept): ``t``'s own instance, or ``default`` for ``main``.

    >>> check_vm(target.resolve("rsync-dirlinks")).instance, check_vm(target.resolve("rsync-dirlinks"), "corpus").instance
    ('check', 'corpus')
    """
    t = target.check_platform(replace(t, instance=default) if t.instance == "main" else t)
    return target.machines(t)[0]


def check_mine(t: Target, verify_wait: int = 300) -> verdict.Report:
    """``lab.check NAME --mine``: the trainee's own VM, their changes kept, through the lab's
    steps after the fix; in a workshop the time and hints used go into the report."""
    m = target.existing(t)
    with target.hold(m):
        return checking.check_here(m, verify_wait)


def corpus_cases(t: Target, only: str | None = None) -> list[corpus.Case]:
    """The lab's fix corpus (``only``: the scripts whose name has it); none matching is an error."""
    cases = [c for c in corpus.cases(t.lab.name) if not only or only in c.path.name]
    if not cases:
        names = ", ".join(c.path.name for c in corpus.cases(t.lab.name)) or "none"
        raise YarakashiError(f"no corpus script of {t.lab.name} matches {only!r} (its scripts: {names})")
    return cases


def run_corpus(t: Target, only: str | None = None, verify_wait: int = 300, keep_state: bool = False,
               each: Callable[[corpus.Case, verdict.Report], None] | None = None) -> tuple[list[corpus.Case], list[verdict.Report]]:
    """``lab.corpus``: every script of the fix corpus through ``lab.check`` from one saved state
    (``t.instance`` ``main`` means the ``corpus`` VM); ``each`` is told each case's report as it ends."""
    cases = corpus_cases(t, only)
    m = check_vm(t, "corpus")
    done: list[verdict.Report] = []

    def judged(report: verdict.Report) -> None:
        done.append(report)
        case = cases[len(done) - 1]
        say(f"{case.path.name}: {corpus.line(case, report)}")
        if each:
            each(case, report)

    with target.hold(m):
        checking.check(m, [c.fix for c in cases], verify_wait=verify_wait, each=judged, keep_state=keep_state)
    return cases, done


def lab_retest(t: Target, reboot: bool = True, bound: float | None = None) -> verdict.Report:
    """The organisers' reboot test (lab.toml ``[retest]``) on the lab's VM."""
    m = target.made(t)
    facts = {"lab": m.lab.name, "platform": m.platform.name, "evidence": m.platform.evidence}
    with target.hold(m):
        return _retest(m.guest, m.lab.retest, m.power_cycle if reboot else None, bound, "lab.retest", facts, m.name)


def host_retest(host: str, ssh_config: Path | None, spec: model.Spec, reboot: bool = False,
                bound: float | None = None) -> verdict.Report:
    """The same test on any host ``ssh`` reaches (a team's own contest server)."""
    if ssh_config and not ssh_config.is_file():
        raise YarakashiError(f"SSH config not found: {ssh_config}")
    server = guest.Endpoint(host, ssh_config)
    return _retest(server, spec, server.reboot if reboot else None, bound)


def _retest(on: guest.Endpoint, spec: model.Spec, power_cycle: Callable[[], object] | None, bound: float | None,
            kind: str = "retest", facts: dict[str, object] | None = None, name: str = "") -> verdict.Report:
    name = name or on.name
    mode = "power off, cold start, then the checks" if power_cycle else "read-only: the checks on the current boot"
    say(f"retest of {name}: {mode}")
    start = time.monotonic()
    checks = retest.run(on, spec, power_cycle=power_cycle, bound=bound)
    return verdict.Report(kind, name, [(f"retest of {name} ({mode})", checks)],
                          facts={**(facts or {}), "reboot": power_cycle is not None}, elapsed=time.monotonic() - start)
