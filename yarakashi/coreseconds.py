r"""Core-seconds: the CPU time a run cost, its guests' and the host side's (the whole suite, or
one lab test: its JUnit properties).

Under TCG a guest's work is its QEMU process's CPU time, so the guests' share is read from
``/proc``: every few seconds, each ``qemu-system-*`` process whose domain (its ``-name
guest=NAME``) is wanted, the largest CPU time seen per process. A process that ends between two
looks loses at most one interval. The host side is this process and every program it waited for
(the lanes' pytest, Vagrant, ssh): ``getrusage``.

>>> with CoreSeconds("yk-nothing-", every=0.01) as cs:
...     pass
>>> cs.guests()
0.0
>>> domain_of(b"qemu-system-x86_64\0-name\0guest=yk-1a-rsync-dirlinks-x,debug-threads=on\0-S")
'yk-1a-rsync-dirlinks-x'
"""

from __future__ import annotations

import os
import re
import resource
import threading
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
_GUEST = re.compile(rb"\0guest=([^,\0]+)")


def domain_of(argv: bytes) -> str | None:
    """The libvirt domain a QEMU command line (``/proc/PID/cmdline``) runs, else None."""
    if b"qemu-system" not in argv.split(b"\0", 1)[0]:
        return None
    found = _GUEST.search(argv)
    return found[1].decode(errors="replace") if found else None


def spent() -> float:
    """User and system seconds of this process and of the children it has waited for."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class CoreSeconds:
    """Watch the guests whose domain name starts with ``wanted`` (or for which ``wanted`` says
    True), and this process's side, while the ``with`` block runs."""

    def __init__(self, wanted: str | Callable[[str], bool], every: float = 5.0):
        self.wanted = (lambda name: name.startswith(wanted)) if isinstance(wanted, str) else wanted
        self.every = every
        self.seen: dict[tuple[int, int], int] = {}  # (pid, start tick) -> CPU ticks
        self._lock = threading.Lock()  # the watcher thread adds while a test's fixture sums
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="core-seconds", daemon=True)
        self._start = 0.0
        self._host = 0.0

    def __enter__(self) -> "CoreSeconds":
        self._start = spent()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.look()
        self._host = spent() - self._start

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self.look()

    def look(self) -> None:
        """Read every QEMU process of these guests once (one that ends meanwhile is skipped)."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                name = domain_of((proc / "cmdline").read_bytes())
                if name is None or not self.wanted(name):
                    continue
                # After the command name in parentheses: fields 14 and 15 are utime and stime, 22 the start.
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                key, ticks = (int(proc.name), int(fields[19])), int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
            with self._lock:
                self.seen[key] = max(self.seen.get(key, 0), ticks)

    def guests(self) -> float:
        """CPU seconds of the guests' QEMU processes."""
        with self._lock:
            return sum(self.seen.values()) / TICK

    def host(self) -> float:
        """CPU seconds of this process and the programs it waited for."""
        return self._host

    def line(self) -> str:
        """The summary line: ``suite core-seconds: N s (guests N s, host side N s)``."""
        return (f"suite core-seconds: {self.guests() + self.host():.0f} s "
                f"(guests {self.guests():.0f} s, host side {self.host():.0f} s)")
