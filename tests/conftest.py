"""Shared pytest settings: lab tests need root, are marked ``lab``, and run only when asked
(``--lab``, or ``YARAKASHI_LAB_TESTS=1`` as ``./run test`` and ``./run lab.test`` set it): a bare
``pytest`` in a checkout boots nothing."""

from __future__ import annotations

import os
import signal

import pytest


def _interrupt_once(signum: int, _frame: object) -> None:
    """SIGINT or SIGTERM: stop the run as Ctrl-C does, so that fixtures remove their VMs; a
    second signal (the terminal's and the parent's) must not cut that clean-up short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def pytest_configure(config: pytest.Config) -> None:
    """Real-VM tests must clean up on SIGTERM too (by default it kills pytest at once)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt_once)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/lab/ as a lab test, skipped unless real VMs were asked for."""
    asked = config.getoption("--lab") or os.environ.get("YARAKASHI_LAB_TESTS") == "1"
    skip = pytest.mark.skip(reason="boots real VMs: run it with --lab (./run test and ./run lab.test do)")
    for item in items:
        if "/tests/lab/" in str(item.path):
            item.add_marker(pytest.mark.lab)
            if not asked:
                item.add_marker(skip)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--lab``: run the real-VM tests too. ``--start-timeout N``: workshop mode for apparmor-cache (the real wait is 900 s).
    ``--oom-wait N``: how long memory-engine waits for the kernel's own OOM kill (default 180 s)."""
    parser.addoption("--lab", action="store_true", help="run the real-VM tests under tests/lab (they boot VMs, as root)")
    parser.addoption(
        "--start-timeout",
        type=int,
        default=None,
        help="workshop mode: shorten mariadb's TimeoutStartSec with a drop-in (default: the real 900 s)",
    )
    parser.addoption(
        "--oom-wait",
        type=int,
        default=180,
        help="memory-engine: seconds of stall before the test presses Alt+SysRq+F on the console (default 180)",
    )
