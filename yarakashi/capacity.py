"""How many lab guests this host runs at once: a VM is made only when a place is free.

Under TCG each vCPU is a host thread. With 6-7 lab guests on 2 cores a real reboot took
603 s and a suite run failed (bench/results.md); with 3-4 they pass.
The cap counts every checkout's running lab guests (``yk-...``) and those being made; a VM
waits for a place, saying who holds them. ``YARAKASHI_MAX_GUESTS`` sets another cap.

>>> cap(cores=2, mem_mib=23_000)
4
>>> cap(cores=16, mem_mib=8_000)
3
>>> cap(cores=1, mem_mib=1_000)
1
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from yarakashi import YarakashiError, catalogue, paths
from yarakashi.progress import Timeout, say, wait_until

#: Lab guests per host core.
PER_CORE = 2
#: What the host keeps for itself.
RESERVE_MIB = 2048
#: Seconds a VM waits for a place before giving up.
WAIT = 3600


def places() -> Path:
    """Where the guests being made hold their places (one file each, its maker's pid)."""
    return paths.STATE / "places"


def cap(cores: int | None = None, mem_mib: int | None = None) -> int:
    """At most this many lab guests at once here: ``YARAKASHI_MAX_GUESTS``, else :func:`fits`."""
    wanted = os.environ.get("YARAKASHI_MAX_GUESTS", "")
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise YarakashiError(f"YARAKASHI_MAX_GUESTS must be a whole number of guests, at least 1, not {wanted!r}")
        return int(wanted)
    cores = cores or len(os.sched_getaffinity(0))
    if mem_mib is None:
        mem_mib = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return fits(cores, mem_mib)


def fits(cores: int, mem_mib: int) -> int:
    """Lab guests a host of this size runs at once: ``PER_CORE`` per core, as memory allows.

    >>> fits(2, 23_000), fits(16, 8_000)
    (4, 3)
    """
    return max(1, min(PER_CORE * cores, (mem_mib - RESERVE_MIB) // largest_guest_mib()))


def largest_guest_mib() -> int:
    """The memory of the largest guest any lab asks for (lab.toml ``memory``, its machines')."""
    return max(m for lab in catalogue.labs().values() for m in (lab.memory, *(s.memory for s in lab.machines)))


@contextlib.contextmanager
def place(domain: str, running: Callable[[], list[str]], limit: int | None = None, wait: float = WAIT) -> Iterator[None]:
    """Hold a place for ``domain`` while it is made (``running``: the lab guests running now).

    Once made, the guest counts as running; its place file goes when the block ends.
    """
    limit = limit or cap()
    mine, others = places() / domain, [""]

    def take() -> bool:
        with _locked():
            taken = sorted((_being_made() | set(running())) - {domain})
            if len(taken) < limit:
                mine.write_text(str(os.getpid()))
                return True
            others[0] = f"{len(taken)} of {limit} places taken ({', '.join(taken)})"
            return False

    if not take():
        say(f"{domain} waits for a place: {others[0]}; YARAKASHI_MAX_GUESTS sets the cap")
        try:
            wait_until(f"a place for {domain}", take, timeout=wait, interval=10, report_every=60)
        except Timeout:
            raise YarakashiError(f"no place for {domain} after {wait:.0f} s: {others[0]}; "
                                 "remove a lab VM (./run lab.destroy) or set YARAKASHI_MAX_GUESTS") from None
    try:
        yield
    finally:
        mine.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    places().mkdir(parents=True, exist_ok=True)
    with open(places() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def being_made() -> set[str]:
    """Lab guests some live process is making now (they hold a place), of any checkout."""
    with _locked():
        return _being_made()


def _being_made() -> set[str]:
    """Guests whose maker still runs (a place left by a dead process is removed)."""
    made = set()
    for held in places().iterdir():
        if held.name.startswith("."):
            continue
        pid = held.read_text().strip()
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            made.add(held.name)
        else:
            held.unlink(missing_ok=True)
    return made
