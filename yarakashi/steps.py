"""A lab's scripted steps: run over SSH in its guest (:class:`Runner`), and how each ended, read
from the log (:class:`StepRun`): ``provisioning/common/run-step.sh`` prints one line at its end
(exit status, the bound it ran past, the last failed command).
"""

from __future__ import annotations

import posixpath
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from yarakashi import catalogue, failures, model, paths, vagrantfile, verdict
from yarakashi.progress import Timeout, say
from yarakashi.teelog import tee
from yarakashi.vagrantfile import GUEST_LAB_DIR

if TYPE_CHECKING:
    from yarakashi.machine import Machine

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


class Runner:
    """A lab VM's scripted steps, run over SSH as root: ``m.steps.run("prepare")``, its
    read-only ``verify``, and a part of the check list ``m.steps.through(["reboot", "verify"], ["fix"])``
    (:class:`~yarakashi.machine.Machine` has one as ``steps``)."""

    def __init__(self, m: Machine):
        self.m = m

    def through(self, steps: list[str], done: list[str], verify_wait: int = 300) -> list[tuple[str, list[verdict.Check]]]:
        """Run ``steps`` of the lab's check list (``done`` ran before them): a real reboot, a
        scripted step, or ``verify``; the verify phases, up to the first that fails. A reboot
        that does not come back is a failed check (a fix that breaks the boot), not an error."""
        phases: list[tuple[str, list[verdict.Check]]] = []
        for step in steps:
            if step == "reboot":
                try:
                    self.m.reboot()
                except (Timeout, failures.ToolFailed) as exc:
                    phases.append((f"reboot (after {' -> '.join(done)})", [verdict.Check(
                        "back over SSH after a real reboot", "a new boot answers", f"{exc}", False,
                        "the server must come back from a reboot: the organisers' test starts with one")]))
                    say(f"{phases[-1][0]}:\n{verdict.table(phases[-1][1])}")
                    break
            elif step == "verify":
                checks = self.verify(wait=verify_wait)
                phases.append((f"verify (after {' -> '.join(done)})", checks))
                say(f"{phases[-1][0]}:\n{verdict.table(checks)}")
                if not verdict.passed(checks):
                    break
            else:
                self.run(step, check=step != "break")
            done = [*done, step]
        return phases

    def run(self, phase: str, check: bool = True) -> StepRun:
        """Upload the lab's files and run a scripted phase (prepare, break, fix) as root, over SSH.

        Each step runs through ``provisioning/common/run-step.sh`` (as ``vagrant provision
        --provision-with PHASE`` would: the Vagrantfile has the same steps), straight over one
        SSH session: a Vagrant run costs tens of seconds of CPU under TCG. With ``check`` a
        failed step raises; without, the :class:`StepRun` says how it ended (a break may well
        leave the guest unable to finish the step cleanly; a trainee's fix may fail, and the
        verdict says so).
        """
        self.m.lab.script(phase, self.m.platform.name)
        step = next(s for s in vagrantfile.steps(self.m.lab, self.m.platform, self.m.scripts, self.m.bounds) if s.phase == phase)
        home = posixpath.dirname(GUEST_LAB_DIR)
        files = {posixpath.relpath(GUEST_LAB_DIR, home): paths.PROVISIONING}
        if step.upload:
            files[posixpath.relpath(step.script, home)] = Path(step.upload)
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in {
            "YK_LAB_DIR": GUEST_LAB_DIR, "YK_LAB": self.m.lab.name, "YK_PLATFORM": self.m.platform.name, "YK_PHASE": phase}.items())
        # Nothing in the guest gives the answer away: the step's own script and its lab's files go
        # up, no other step's or lab's, and all of it is removed once the step has run.
        command = (f"sudo -n env {env} bash {GUEST_LAB_DIR}/common/run-step.sh {phase} {shlex.quote(step.script)} {step.bound}"
                   f"; rc=$?; sudo -n rm -rf {GUEST_LAB_DIR} {shlex.quote(step.script)}; exit $rc")
        offset = self.m.log.stat().st_size if self.m.log.exists() else 0
        try:
            with failures.step(f"{phase} of {self.m.name}", self.m.log):
                say(f"running {phase} of {self.m.lab.name} on {self.m.platform.name} ({self.m.instance})")
                self.m.guest.upload(home, files, leave_out=not_sent(self.m.lab, self.m.platform.name, phase, step.upload))
                with tee(self.m.log, f"[{self.m.lab.name}/{self.m.platform.name}/{self.m.instance}] ") as sink:
                    sink.write(f"==> default: running {phase}: {step.script}\n")
                    code = self.m.guest.stream(command, sink, step.bound + 120 if step.bound else None)
                if code != 0:
                    raise subprocess.CalledProcessError(code, ["ssh", "...", f"run-step.sh {phase}"])
        except failures.ToolFailed:
            if check:
                raise
        with self.m.log.open("rb") as fh:
            fh.seek(offset)
            ended = StepRun.from_log(phase, fh.read().decode(errors="replace"))
        if not ended:
            say(f"{ended.describe()} (tolerated)" if not check else ended.describe())
        return ended

    def verify(self, wait: int = 300) -> list[verdict.Check]:
        """Run the lab's read-only ``verify`` script in a new SSH session: its checks.

        ``wait`` bounds how long it waits for the boot to finish. A guest where no session
        opens fails a check of its own, with the reason.
        """
        leave_out = not_sent(self.m.lab, self.m.platform.name, "verify")
        own = self.m.lab.script("verify", self.m.platform.name)
        script = shlex.quote(f"{GUEST_LAB_DIR}/{own.resolve().relative_to(paths.PROVISIONING).as_posix()}")
        command = (f"sudo YK_LAB_DIR={GUEST_LAB_DIR} YK_VERIFY_JSON=1 YK_VERIFY_WAIT={int(wait)} bash {script}"
                   f"; rc=$?; sudo -n rm -rf {GUEST_LAB_DIR}; exit $rc")  # the checks say what a fix must do: gone after
        home = posixpath.dirname(GUEST_LAB_DIR)
        unable = "no new session can start: the guest cannot be checked or repaired over SSH"
        with failures.step(f"verify of {self.m.name}"):
            say(f"verify on {self.m.name} (waits up to {wait} s for the boot to finish)")
            try:  # the new session the organisers would open: the upload's
                self.m.guest.upload(home, {posixpath.relpath(GUEST_LAB_DIR, home): paths.PROVISIONING},
                                  leave_out=leave_out)
            except failures.ToolFailed as exc:
                return [verdict.Check("new SSH session", "opens", failures.tail(str(exc)) or "closed at once", False, unable)]
            done = self.m.guest.ssh(command, timeout=wait + 120)
        if done.returncode in (124, 255):
            seen = "timed out" if done.returncode == 124 else done.stderr.strip() or "closed at once"
            return [verdict.Check("new SSH session", "opens", seen, False, unable)]
        return verdict.parse(done.stdout) or [verdict.Check(
            "verify script", "its checks", f"exit {done.returncode}: {failures.tail(done.stdout + done.stderr)}", False,
            "the verify script could not run")]


def not_sent(lab: model.Lab, platform: str, phase: str, upload: str | None = None) -> frozenset[Path]:
    """What ``phase`` of ``lab`` on ``platform`` does not send to its guest: every step script but
    its own (``upload``, a fix of the user's, else the lab's), the other labs' files, and what
    only the host uses.

    >>> from yarakashi import catalogue
    >>> lab = catalogue.lab("rsync-dirlinks")
    >>> lab.script("verify", "debian12-merged") in not_sent(lab, "debian12-merged", "verify")
    False
    >>> lab.script("fix", "debian12-merged") in not_sent(lab, "debian12-merged", "verify")
    True
    """
    own = Path(upload) if upload else lab.script(phase, platform)
    scripts = {other.script(step, plat) for other in catalogue.labs().values() for plat in other.platforms
               for step in other.steps_for(plat)}
    others = {paths.PROVISIONING / name for name in catalogue.labs() if name != lab.name}
    return frozenset(scripts - {own} | others | {paths.PROVISIONING / "host", paths.PROVISIONING / "box"})
