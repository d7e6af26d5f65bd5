"""A guest kernel's messages of the current boot, from both places that keep them: the kernel's
ring buffer (``dmesg``) and the journal (``journalctl -k``), each message once.

Either can lack a line the other holds. journald copies the ring buffer from ``/dev/kmsg``; a
journald that is stalled or killed (a guest thrashing for memory) records the kernel's lines
late or never, while the ring buffer has them at once. The ring buffer is a fixed size and
overwrites its oldest lines, which the journal keeps. Both give a message the same kernel
timestamp (microseconds since boot: ``dmesg``'s ``[ s.us]``, the journal's
``_SOURCE_MONOTONIC_TIMESTAMP`` for kernel lines), so the union is exact.

>>> out = '''[   12.000001] sysrq: Manual OOM execution
... [   12.500000] Out of memory: Killed process 512 (mariadbd)
... --- journal ---
... {"MESSAGE": "Out of memory: Killed process 512 (mariadbd)", "_SOURCE_MONOTONIC_TIMESTAMP": "12500000"}
... {"MESSAGE": "audit: type=1400", "_SOURCE_MONOTONIC_TIMESTAMP": "3000000"}
... '''
>>> for line in parse(out):
...     print(line)
3.000000 [journal] audit: type=1400
12.000001 [ring buffer] sysrq: Manual OOM execution
12.500000 [ring buffer, journal] Out of memory: Killed process 512 (mariadbd)
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Protocol

from yarakashi import YarakashiError
from yarakashi.failures import tail

RING, JOURNAL = "ring buffer", "journal"
_SEPARATOR = "--- journal ---"
#: One SSH session reads both (as root: Debian sets kernel.dmesg_restrict=1).
COMMAND = (f"sudo -n dmesg; echo '{_SEPARATOR}'; "
           "sudo -n journalctl -k -b -q --no-pager -o json --output-fields=MESSAGE,_SOURCE_MONOTONIC_TIMESTAMP")
_DMESG = re.compile(r"^\[\s*(\d+)\.(\d{6})\] ?(.*)$")


class Unanswered(YarakashiError):
    """The guest did not answer: no session, or nothing from ``dmesg``."""


class Reachable(Protocol):
    """Anything with a bounded ``ssh`` (a :class:`yarakashi.guest.Endpoint`, a ``Machine``)."""

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]: ...


@dataclass(frozen=True)
class Line:
    """One kernel message: microseconds since boot, its text, and which records held it."""

    usec: int
    text: str
    sources: tuple[str, ...]

    @property
    def at(self) -> float:
        """Seconds since boot (the guest's ``/proc/uptime`` counts on the same clock)."""
        return self.usec / 1e6

    def __str__(self) -> str:
        return f"{self.usec // 10**6}.{self.usec % 10**6:06d} [{', '.join(self.sources)}] {self.text}"


def _message(value: object) -> str:
    """The journal's MESSAGE: a string, or a list of bytes where it is not valid UTF-8."""
    if isinstance(value, list):
        return bytes(b & 0xFF for b in value if isinstance(b, int)).decode("utf-8", "replace")
    return str(value)


def parse(output: str) -> list[Line]:
    """:data:`COMMAND`'s output as lines in the order the kernel wrote them."""
    ring, _, journal = output.partition(_SEPARATOR)
    found: dict[tuple[int, str], list[str]] = {}
    for raw in ring.splitlines():
        if m := _DMESG.match(raw):
            found.setdefault((int(m[1]) * 10**6 + int(m[2]), m[3]), []).append(RING)
    for raw in journal.splitlines():
        try:
            entry = json.loads(raw)
            usec = int(entry["_SOURCE_MONOTONIC_TIMESTAMP"])
        except (ValueError, KeyError, TypeError):
            continue
        sources = found.setdefault((usec, _message(entry.get("MESSAGE", ""))), [])
        if JOURNAL not in sources:
            sources.append(JOURNAL)
    return [Line(usec, text, tuple(dict.fromkeys(src))) for (usec, text), src in sorted(found.items())]


#: mm/oom_kill.c's line for every OOM kill, by the kernel's own OOM killer or by Alt+SysRq+F.
OOM_KILL = re.compile(r"Out of memory: Killed process (\d+) \((\S+)\)")
#: drivers/tty/sysrq.c's line when Alt+SysRq+F arrives.
SYSRQ_OOM = "sysrq: Manual OOM execution"


def oom_kills(lines: list[Line]) -> list[tuple[Line, str]]:
    """The OOM kills among ``lines``, in order: (line, process name)."""
    return [(line, m[2]) for line in lines if (m := OOM_KILL.search(line.text))]


def oom_killer(lines: list[Line], kill: Line) -> str:
    """Whose OOM killer made ``kill``: ``Alt+SysRq+F`` when the key's line came before it, else
    ``the kernel``. A key pressed while the kernel was already killing logs its line after.

    >>> kill = Line(200_500_000, "Out of memory: Killed process 731 (mariadbd)", (RING,))
    >>> oom_killer([Line(200_400_000, SYSRQ_OOM, (RING,)), kill], kill)
    'Alt+SysRq+F'
    >>> oom_killer([kill, Line(201_000_000, SYSRQ_OOM, (RING,))], kill)
    'the kernel'
    """
    keys = [line for line in lines if SYSRQ_OOM in line.text]
    return "Alt+SysRq+F" if keys and keys[0].usec <= kill.usec else "the kernel"


def read(guest: Reachable, timeout: float = 120) -> tuple[list[Line], str]:
    """This boot's kernel messages and the raw output they came from (to keep as evidence).
    No session, or no answer from ``dmesg``, is an error: "no such line" must mean the guest has none."""
    done = guest.ssh(COMMAND, timeout)
    answered = _SEPARATOR in done.stdout and _DMESG.match(done.stdout.partition("\n")[0])
    if done.returncode in (124, 255) or not answered:
        raise Unanswered(f"the guest's kernel messages could not be read (exit {done.returncode}): "
                             f"{tail(done.stderr) or tail(done.stdout) or 'no output'}")
    return parse(done.stdout), done.stdout
