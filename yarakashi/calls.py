"""Who asked for an operation and how they follow it: its progress lines go to their callback,
and they may cancel it. The command line follows nothing (lines go to stderr, Ctrl-C
interrupts); a web portal runs each operation in a thread of its own, following it.

>>> lines = []
>>> with following(Call(report=lines.append)):
...     current().report("hello")
>>> lines, current()
(['hello'], None)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Call:
    """One caller's operation: ``report`` receives each progress line; ``cancel`` set ends the
    operation at its next step or wait, with what it had made removed, as Ctrl-C would."""

    report: Callable[[str], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    #: Set once the cancel has been raised: the clean-up that follows must run to its end.
    raised: bool = False


_current: ContextVar[Call | None] = ContextVar("yarakashi_call", default=None)


def current() -> Call | None:
    """The operation this thread runs for a caller that follows it, if any."""
    return _current.get()


@contextmanager
def following(call: Call) -> Iterator[Call]:
    """Run the block as ``call``: its progress lines to ``call.report``, its cancel obeyed."""
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)
