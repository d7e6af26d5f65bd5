"""The reboot test (追試) as ISUCON organisers run it, for a lab VM or any host reached by SSH.

Power off, cold start (only when asked to), wait until the boot is over - ``systemctl
is-system-running`` leaves ``starting``, or a bound past the longest ``TimeoutStartSec`` of
the units that matter runs out - then check: no unit ``activating`` or ``failed``, the
named services enabled and active, the data written before the reboot readable. Every
command it runs on the target is read-only; the reboot is the target's own ``power_cycle``.

>>> print(table([Check("mariadb.service active", True, "active"),
...              Check("no unit activating", False, "mariadb.service")]))
RESULT  CHECK                   DETAIL
PASS    mariadb.service active  active
FAIL    no unit activating      mariadb.service
FAIL: 1 of 2 checks failed
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from yarakashi import YarakashiError, guest
from yarakashi.catalogue import Spec
from yarakashi.progress import Timeout, say, wait_until

#: States of ``systemctl is-system-running`` that mean the boot is not over yet.
BOOTING = ("initializing", "starting")
#: Added to the longest start timeout: systemd needs a moment to act on it.
MARGIN = 60.0
#: Bound of the wait when no unit that matters has a start timeout (systemd's default is 90 s).
DEFAULT_BOUND = 300.0
#: The longest a boot may take to bring SSH back after a power cycle (TCG boots are slow).
REBOOT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


class Target(Protocol):
    """Where the checks run: ``ssh`` runs a command in a new session (rc 255: no session)."""

    name: str

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]: ...

    def power_cycle(self) -> str: ...


class SshHost:
    """A host reached with the user's own ssh: ``SshHost("isucon1", Path("~/.ssh/config"))``.

    Its ``power_cycle`` is ``sudo systemctl reboot`` (no hypervisor to cut the power), then a
    wait for a new boot id.
    """

    def __init__(self, host: str, config: Path | None = None):
        if not host or host.startswith("-"):
            raise YarakashiError(f"not an SSH host: {host!r}")
        self.name = host
        self.argv = ["ssh", *(["-F", str(config.expanduser())] if config else []),
                     "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=5", host]

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return guest.run_bounded([*self.argv, command], timeout)

    def power_cycle(self) -> str:
        before = boot_id(self)
        if not before:
            raise YarakashiError(f"cannot reboot {self.name}: no SSH session")
        say(f"rebooting {self.name} (sudo systemctl reboot)")
        self.ssh("sudo -n systemctl reboot", timeout=30)
        return wait_until(f"{self.name} back from reboot", lambda: _new(boot_id(self), before), REBOOT_TIMEOUT, 5)


def _new(now: str | None, before: str) -> str | None:
    return now if now and now != before else None


def boot_id(target: Target) -> str | None:
    """The kernel's boot id, or None when no session can be opened."""
    done = target.ssh("cat /proc/sys/kernel/random/boot_id", timeout=30)
    return done.stdout.strip() if done.returncode == 0 else None


def timespan(text: str) -> float | None:
    """Seconds in a systemd time span; None for ``infinity`` or an empty value.

    >>> timespan("15min"), timespan("1min 30s"), timespan("100ms"), timespan("infinity")
    (900.0, 90.0, 0.1, None)
    """
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "min": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)\b", text)
    return sum(float(n) * units[u] for n, u in parts) if parts else None


def root(command: str) -> str:
    """``command`` run as root without a prompt (``sudo -n``), for a non-root SSH user."""
    return f"sudo -n sh -c {shlex.quote(command)}"


def units_in(target: Target, state: str) -> list[str]:
    done = target.ssh(f"systemctl list-units --all --state={state} --no-legend --plain", timeout=60)
    return [line.split()[0] for line in done.stdout.splitlines() if line.split()]


def bound_for(target: Target, services: tuple[str, ...]) -> tuple[float, str, float | None]:
    """How long to wait for the boot: the longest start timeout that matters, plus a margin.

    Returns (bound, why, due): ``due`` is when the start timeout of a unit activating now
    runs out (seconds from now), for the progress lines; None when none is activating.
    """
    units = sorted({*services, *units_in(target, "activating")})
    longest, which, due = 0.0, "", None
    for unit in units:
        done = target.ssh(f"systemctl show -p TimeoutStartUSec -p ActiveState -p InactiveExitTimestampMonotonic "
                          f"{shlex.quote(unit)}; cut -d' ' -f1 /proc/uptime", timeout=60)
        props = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        seconds = timespan(props.get("TimeoutStartUSec", ""))
        if seconds is None:
            continue
        if seconds > longest:
            longest, which = seconds, unit
        uptime = done.stdout.split()[-1] if done.stdout.split() else ""
        if props.get("ActiveState") == "activating" and re.fullmatch(r"[\d.]+", uptime):
            left = seconds - (float(uptime) - int(props.get("InactiveExitTimestampMonotonic", "0") or 0) / 1e6)
            due = max(left, due or 0.0)
    if not which:
        return DEFAULT_BOUND, "no unit that matters has a start timeout", due
    return longest + MARGIN, f"TimeoutStartSec={longest:.0f}s of {which} + {MARGIN:.0f} s", due


def wait_for_boot(target: Target, services: tuple[str, ...], bound: float | None = None) -> Check:
    """Wait (bounded) until ``systemctl is-system-running`` says the boot is over."""
    why, due = "--bound", None
    if bound is None:
        bound, why, due = bound_for(target, services)
    last = {"state": "no answer"}

    def over() -> str | None:
        done = target.ssh("systemctl is-system-running", timeout=60)
        state = done.stdout.strip() or ("no SSH session" if done.returncode == 255 else "no answer")
        if state != last["state"]:
            activating = ", ".join(units_in(target, "activating")) or "none"
            say(f"{target.name}: system {state}; activating: {activating}")
        last["state"] = state
        return state if done.stdout.strip() and state not in BOOTING else None

    start = time.monotonic()
    try:
        state = wait_until(f"the boot of {target.name} to finish ({why})", over, bound, interval=10,
                           report_every=60, expected_in=due)
    except Timeout:
        return Check("boot finished (systemctl is-system-running)", False,
                     f"still '{last['state']}' after {time.monotonic() - start:.0f} s ({why})")
    return Check("boot finished (systemctl is-system-running)", state == "running",
                 f"{state} after {time.monotonic() - start:.0f} s of waiting")


def read_data(target: Target, spec: Spec) -> tuple[bool, str]:
    done = target.ssh(root(spec.data), timeout=300)
    return done.returncode == 0, (done.stdout.strip() if done.returncode == 0 else (done.stderr or done.stdout).strip())


def run(target: Target, spec: Spec, reboot: bool = False, bound: float | None = None) -> list[Check]:
    """The retest; ``reboot`` power-cycles the target first (otherwise nothing changes on it)."""
    checks: list[Check] = []
    before = ""
    if reboot and spec.data:
        ok, before = read_data(target, spec)
        if not ok:
            raise YarakashiError(f"the data command fails before the reboot: {before}")
    if reboot:
        start = time.monotonic()
        try:
            target.power_cycle()
        except (Timeout, YarakashiError) as exc:
            return [Check("back over SSH after the power cycle", False, str(exc))]
        checks.append(Check("back over SSH after the power cycle", True, f"after {time.monotonic() - start:.0f} s"))
    elif boot_id(target) is None:
        return [Check("SSH session", False, target.ssh("true", timeout=30).stderr.strip() or "no session")]
    checks.append(wait_for_boot(target, spec.services, bound))
    for state in ("activating", "failed"):
        units = units_in(target, state)
        checks.append(Check(f"no unit {state}", not units, ", ".join(units) or "none"))
    for service in spec.services:
        for verb, good in (("is-enabled", "enabled"), ("is-active", "active")):
            done = target.ssh(f"systemctl {verb} {shlex.quote(service)}", timeout=60)
            got = done.stdout.strip() or (done.stderr.strip().splitlines() or ["no answer"])[-1]
            checks.append(Check(f"{service} {good}", got == good, got))
    if spec.data:
        checks.append(data_check(target, spec, before))
    return checks


def data_check(target: Target, spec: Spec, before: str) -> Check:
    """The data is readable, and equal to what was there before (when that is known)."""
    ok, now = read_data(target, spec)
    name = "data written before the reboot" if before or spec.data_written else "data readable"
    if not ok:
        return Check(name, False, f"not readable: {now}")
    if not before and spec.data_written:
        done = target.ssh(root(f"cat {shlex.quote(spec.data_written)}"), timeout=60)
        before = done.stdout.strip() if done.returncode == 0 else ""
    if not before:
        return Check(name, bool(now), f"readable: {now}" if now else "readable but empty")
    return Check(name, now == before, now if now == before else f"expected '{before}', got '{now}'")


def table(checks: list[Check]) -> str:
    """The PASS/FAIL table, with a last line that says PASS or FAIL."""
    width = max([len("CHECK"), *(len(c.name) for c in checks)])
    lines = [f"{'RESULT':<7} {'CHECK':<{width}}  DETAIL".rstrip()]
    lines += [f"{'PASS' if c.passed else 'FAIL':<7} {c.name:<{width}}  {c.detail}".rstrip() for c in checks]
    failed = sum(not c.passed for c in checks)
    lines.append(f"FAIL: {failed} of {len(checks)} checks failed" if failed else f"PASS: all {len(checks)} checks passed")
    return "\n".join(lines)


def passed(checks: list[Check]) -> bool:
    return bool(checks) and all(c.passed for c in checks)
