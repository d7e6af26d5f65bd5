"""Shared pytest settings: lab tests need root and are marked ``lab``."""

from __future__ import annotations

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
    """Mark every test under tests/lab/ as a lab test."""
    for item in items:
        if "/tests/lab/" in str(item.path):
            item.add_marker(pytest.mark.lab)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--start-timeout N``: workshop mode for apparmor-cache (the real wait is 900 s).
    ``--oom-wait N``: how long memory-engine waits for the kernel's own OOM kill (default 180 s)."""
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
