"""Long waits that say what they wait for and how long is left.

>>> wait_until("an answer", lambda: 42, timeout=5, interval=1)
42
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from yarakashi import YarakashiError, calls, failures

T = TypeVar("T")


class Timeout(YarakashiError):
    """A wait ran out of time."""


def say(message: str) -> None:
    """A progress line: to the caller that follows the operation (:mod:`yarakashi.calls`), else
    printed at once (also under pytest -s and in CI logs)."""
    call = calls.current()
    if call and call.report:
        call.report(message)
        return
    print(f"[yarakashi {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_until(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    interval: float = 5,
    report_every: float = 30,
    expected_in: float | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy; report progress; raise on timeout.

    Every ``report_every`` seconds a line says what is awaited, the time spent and the time
    left (until the event is due, when ``expected_in`` says when), so a 15-minute wait is
    never silent.
    """
    start = time.monotonic()
    last_report = start
    due = f", due in {expected_in:.0f} s" if expected_in is not None else ""
    say(f"waiting for {what}{due} (giving up after {timeout:.0f} s)")
    while True:
        failures.cancel_point()
        value = probe()
        now = time.monotonic()
        if value:
            say(f"{what}: after {now - start:.0f} s")
            return value
        if now - start >= timeout:
            raise Timeout(f"gave up waiting for {what} after {now - start:.0f} s")
        if now - last_report >= report_every:
            elapsed = now - start
            left = f"due in {expected_in - elapsed:.0f} s" if expected_in is not None and expected_in > elapsed else ""
            left = left or f"{timeout - elapsed:.0f} s left before giving up"
            say(f"still waiting for {what}: {elapsed:.0f} s elapsed, {left}")
            last_report = now
        time.sleep(min(interval, max(0.0, timeout - (now - start))))

