"""The reboot test (追試) as ISUCON organisers run it, for a lab VM or any host reached by SSH.

Power off, cold start (only when asked to), wait until the boot is over - ``systemctl
is-system-running`` leaves ``starting``, or a bound past the longest ``TimeoutStartSec`` of
the units that matter runs out - then check: no unit ``activating`` or ``failed``, the
named services enabled and active, the data written before the reboot readable. Every
command it runs on the target is read-only; the reboot is the ``power_cycle`` its caller gives.

>>> from yarakashi.verdict import table
>>> print(table([Check.compare("mariadb.service active", "active", "active"),
...              Check.compare("no unit activating", "none", "mariadb.service")]))
RESULT  CHECK                   DETAIL
PASS    mariadb.service active  active
FAIL    no unit activating      expected 'none', got 'mariadb.service'
FAIL: 1 of 2 checks failed
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Callable
from typing import Protocol

from yarakashi import YarakashiError
from yarakashi.model import Spec
from yarakashi.verdict import Check
from yarakashi.progress import Timeout, say, wait_until

#: States of ``systemctl is-system-running`` that mean the boot is not over yet.
BOOTING = ("initializing", "starting")
#: The check that the boot finished.
BOOT_CHECK = "boot finished (systemctl is-system-running)"
#: Added to the longest start timeout: systemd needs a moment to act on it.
MARGIN = 60.0
#: Bound of the wait when no unit that matters has a start timeout (systemd's default is 90 s).
DEFAULT_BOUND = 300.0


class Target(Protocol):
    """Where the checks run (a ``guest.Endpoint``: a lab VM's guest, or a team's own server):
    ``ssh`` runs a command in a new session (rc 255: no session)."""

    name: str

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]: ...


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
        return Check(BOOT_CHECK, "running", f"still '{last['state']}' after {time.monotonic() - start:.0f} s ({why})",
                     False, "the boot never finished: a unit stayed activating, as after the post's reboot")
    return Check(BOOT_CHECK, "running", f"{state} after {time.monotonic() - start:.0f} s of waiting", state == "running",
                 "the boot ended, but not every unit is fine")


def read_data(target: Target, spec: Spec) -> tuple[bool, str]:
    done = target.ssh(root(spec.data), timeout=300)
    return done.returncode == 0, (done.stdout.strip() if done.returncode == 0 else (done.stderr or done.stdout).strip())


def run(target: Target, spec: Spec, power_cycle: Callable[[], object] | None = None, bound: float | None = None) -> list[Check]:
    """The retest; ``power_cycle`` first when given (the hypervisor's for a lab VM, a reboot for a
    team's own server); without it nothing changes on the target."""
    checks: list[Check] = []
    before = ""
    reboot = power_cycle is not None
    if reboot and spec.data:
        ok, before = read_data(target, spec)
        if not ok:
            raise YarakashiError(f"the data command fails before the reboot: {before}")
    if power_cycle is not None:
        start = time.monotonic()
        try:
            power_cycle()
        except (Timeout, YarakashiError) as exc:
            return [Check("back over SSH after the power cycle", "a new boot", str(exc), False)]
        checks.append(Check("back over SSH after the power cycle", "a new boot", f"after {time.monotonic() - start:.0f} s", True))
    elif boot_id(target) is None:
        return [Check("SSH session", "opens", target.ssh("true", timeout=30).stderr.strip() or "no session", False)]
    checks.append(wait_for_boot(target, spec.services, bound))
    for state in ("activating", "failed"):
        units = units_in(target, state)
        checks.append(Check.compare(f"no unit {state}", "none", ", ".join(units) or "none"))
    for service in spec.services:
        for verb, good in (("is-enabled", "enabled"), ("is-active", "active")):
            done = target.ssh(f"systemctl {verb} {shlex.quote(service)}", timeout=60)
            got = done.stdout.strip() or (done.stderr.strip().splitlines() or ["no answer"])[-1]
            checks.append(Check.compare(f"{service} {good}", good, got))
    if spec.data:
        checks.append(data_check(target, spec, before))
    return checks


def data_check(target: Target, spec: Spec, before: str) -> Check:
    """The data is readable, and equal to what was there before (when that is known)."""
    ok, now = read_data(target, spec)
    name = "data written before the reboot" if before or spec.data_written else "data readable"
    if not ok:
        return Check(name, "readable", f"not readable: {now}", False)
    if not before and spec.data_written:
        done = target.ssh(root(f"cat {shlex.quote(spec.data_written)}"), timeout=60)
        before = done.stdout.strip() if done.returncode == 0 else ""
    if not before:
        return Check(name, "readable", f"readable: {now}" if now else "readable but empty", bool(now))
    return Check.compare(name, before, now, "the data written before the reboot must still be there")
