"""What an operation acts on, named once at the door and resolved there: a lab, one of its
platforms, an instance (a trainee's, a check's), the libvirt host; and the lock that keeps
two callers off one VM.

>>> t = resolve("rsync-dirlinks", "debian12-merged", trainee="taro")
>>> t.lab.name, t.platform.name, t.instance
('rsync-dirlinks', 'debian12-merged', 't-taro')
>>> resolve("rsync-dirlinks").platform is None
True
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

from yarakashi import YarakashiError, catalogue, hosts, model, paths, workshop
from yarakashi.machine import Machine


@dataclass(frozen=True)
class Target:
    """A lab and what narrows it: ``platform`` None means every offline one (or the one that
    exists); ``host`` None, the host its VM was made on (this machine for a new one)."""

    lab: model.Lab
    platform: model.Platform | None = None
    instance: str = "main"
    host: hosts.Host | None = None
    #: The lab's other server the operation means (``s1``), None for the lab's own VM.
    machine: str | None = None

    @property
    def trainee(self) -> str:
        """The trainee's name given at the door, '' when none."""
        return workshop.trainee_of(self.instance)


def resolve(lab: str, platform: str | None = None, trainee: str | None = None, host: str | None = None,
            machine: str | None = None, instance: str | None = None) -> Target:
    """The target the names mean (a lab's alias too), each checked once: an unknown one is a
    one-line error naming the valid ones."""
    found, plat = catalogue.find(lab, platform)
    if machine and machine not in ("default", found.hostname):
        model.choose("machine", machine, [found.hostname or "default", *(m.name for m in found.machines)], f"of lab {found.name}")
    else:
        machine = None
    return Target(found, plat, instance or workshop.instance(trainee), hosts.parse(host) if host else None, machine)


def offline_platforms(lab: model.Lab) -> list[model.Platform]:
    """The lab's platforms that run without internet (its default ones)."""
    return [p for p in map(catalogue.platform, lab.platforms) if p.offline]


def check_platform(t: Target) -> Target:
    """``t`` on its platform, else on the lab's last offline one (where ``lab.check`` runs).

    >>> check_platform(resolve("apparmor-cache")).platform.name
    'debian12-merged'
    """
    return t if t.platform else replace(t, platform=offline_platforms(t.lab)[-1])


def machines(t: Target, script: dict | None = None) -> list[Machine]:
    """The VMs ``t`` means: its platform's, or one per offline platform of the lab (Ubuntu
    platforms download boxes and packages, so they are used only when named)."""
    plats = [t.platform] if t.platform else offline_platforms(t.lab)
    return [Machine(t.lab, p, t.instance, script, host=t.host) for p in plats]


def existing(t: Target) -> Machine:
    """The one VM ``t`` means (on the lab's ``machine``): ambiguous or absent VMs are an error."""
    if t.platform:
        m = machines(t)[0]
    else:
        found = [m for m in machines(t) if m.exists()]
        if len(found) != 1:
            raise YarakashiError(f"{len(found)} VMs of {t.lab.name} exist; name one with --platform ({', '.join(t.lab.platforms)})")
        m = found[0]
    return Machine(m.lab, m.platform, m.instance, vm=t.machine, host=m.runs_on) if t.machine else m


def made(t: Target) -> Machine:
    """:func:`existing`, and made: an operation inside the VM needs it up."""
    m = existing(t)
    if not m.exists():
        raise YarakashiError(f"no VM of {t.lab.name} on {m.platform.name}: invoke lab.up {t.lab.name} first")
    return m


def started(t: Target) -> Machine:
    """The trainee's VM of the lab; none is an error that says how to start one."""
    if not any(m.exists() for m in machines(t)):
        who = f" --trainee {t.trainee}" if t.trainee else ""
        raise YarakashiError(f"no lab VM of {t.lab.name}{who} here: start one with ./run lab.start {t.lab.name}{who}")
    return existing(t)


class Busy(YarakashiError):
    """Another caller acts on the VM now."""


@contextlib.contextmanager
def hold(m: Machine) -> Iterator[None]:
    """The VM's lock for the block (its lab's other servers with it): a second caller, in this
    process or another, is refused in one line instead of acting on the VM at the same time.
    A process that dies lets go (the kernel drops its lock)."""
    path = paths.WORK / "locks" / f"{m.lab.name}-{m.platform.name}-{m.instance}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another caller"
            raise Busy(f"{m.lab.name} on {m.platform.name} ({m.instance}) is busy: {holder} acts on it; try again when it ends") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the lock
