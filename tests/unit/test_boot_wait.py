"""Waiting for a reboot: a fixed bound fails a slow boot on a busy host; a guest that still
prints on its console gets more time (up to 3x), a silent one does not."""

from __future__ import annotations

import itertools
import time

import pytest

from yarakashi import guest, progress
from yarakashi.progress import Timeout


class Clock:
    """Each look at the clock is 5 s later; sleeping takes no time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 5
        return self.now

    def sleep(self, seconds: float) -> None:
        pass

    strftime = staticmethod(time.strftime)  # progress lines still carry the wall time


def endpoint(boot_ids: list[str | None], monkeypatch: pytest.MonkeyPatch) -> guest.Endpoint:
    clock = Clock()
    monkeypatch.setattr(progress, "time", clock)
    monkeypatch.setattr(guest, "time", clock)
    e = guest.Endpoint("isu1")
    answers = iter(boot_ids)
    monkeypatch.setattr(e, "boot_id", lambda connect_timeout=15: next(answers, None))
    return e


def test_a_guest_that_still_prints_gets_more_time(monkeypatch) -> None:
    e = endpoint([None] * 8 + ["new"], monkeypatch)  # more looks than one bound takes
    console = itertools.count(100, 100)  # it grows at every look
    assert e.wait_new_boot("old", timeout=30, progress=lambda: next(console)) == "new"


def test_a_silent_guest_times_out_at_the_bound(monkeypatch) -> None:
    e = endpoint([None] * 50, monkeypatch)
    with pytest.raises(Timeout):
        e.wait_new_boot("old", timeout=20, progress=lambda: 1234)


def test_even_a_printing_guest_gets_at_most_three_bounds(monkeypatch) -> None:
    e = endpoint([None] * 500, monkeypatch)
    console = itertools.count(100, 100)
    with pytest.raises(Timeout):
        e.wait_new_boot("old", timeout=20, progress=lambda: next(console))
