"""Shared pytest settings: lab tests need root and are marked ``lab``."""

from __future__ import annotations

import pytest


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
