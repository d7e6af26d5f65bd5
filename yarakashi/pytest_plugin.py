"""A pytest plugin for other projects: judge your deploy script, provisioning role or runbook
with ``lab.check`` on a real VM, from your own test suite (registered as ``pytest11``).

Install it from a checkout (``pip install -e /path/to/yarakashi``), then::

    def test_our_deploy_keeps_lib_a_symlink(yarakashi_check):
        report = yarakashi_check("rsync-dirlinks", fix="deploy/deploy.sh")
        assert report.passed, report.text()

``keep=True`` keeps the judged VM until the test ends, as ``yarakashi_check.host`` (testinfra).
Options: ``--yarakashi-platform NAME`` (default: each lab's check platform),
``--yarakashi-keep-failed`` (keep the VM of a FAIL to look inside), ``--yarakashi-fix-bound N``.
The VMs need root, like every yarakashi command.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yarakashi import YarakashiError, checking, paths, verdict
from yarakashi.app import checks, target
from yarakashi.machine import Machine

_numbers = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("yarakashi", "yarakashi: judge a fix on a real VM")
    group.addoption("--yarakashi-platform", default=None, help="the platform to judge on (default: the lab's check platform)")
    group.addoption("--yarakashi-keep-failed", action="store_true", help="keep the VM when a verdict is FAIL")
    group.addoption("--yarakashi-fix-bound", type=int, default=checking.FIX_BOUND,
                    help=f"seconds a fix may run before it is ended (default {checking.FIX_BOUND})")


@pytest.fixture
def yarakashi_check(request: pytest.FixtureRequest) -> Iterator[Callable[..., verdict.Report]]:
    """``yarakashi_check(lab, fix=path, platform=None, instance=None, keep=False)``: the verdict (a
    :class:`yarakashi.verdict.Report`; ``.passed``, ``.text()``, ``.to_dict()``) of ``fix`` run as the
    lab's fix step on a fresh VM, through the lab's real reboots. A relative ``fix`` is taken from
    the test file's directory. ``keep=True`` keeps the VM as the fix and the reboots left it until
    the test ends: ``yarakashi_check.host`` is then a testinfra host of it::

        report = yarakashi_check("rsync-dirlinks", fix="deploy.sh", keep=True)
        assert yarakashi_check.host.file("/lib").is_symlink
    """
    if not (paths.LABS.is_dir() and (paths.REPO / "Vagrantfile.j2").is_file()):
        raise pytest.UsageError(f"yarakashi's labs are not at {paths.REPO}: install it editable from a checkout "
                                f"(pip install -e /path/to/yarakashi) or set YARAKASHI_HOME to one")
    config = request.config
    kept: list[Machine] = []

    def check(lab: str, fix: str | Path, platform: str | None = None, instance: str | None = None,
              keep: bool = False) -> verdict.Report:
        script = Path(fix) if Path(fix).is_absolute() else Path(request.path).parent / fix
        try:
            # Unique among processes at once (pytest-xdist workers, two jobs on one checkout): the pid.
            mine = instance or f"pytest-{os.getpid()}-{next(_numbers)}"
            on = target.resolve(lab, platform or config.getoption("yarakashi_platform"), instance=mine)
            mode = "always" if keep else "failed" if config.getoption("yarakashi_keep_failed") else "never"
            [report] = checks.check(on, [script], mode, fix_bound=config.getoption("yarakashi_fix_bound"))
        except YarakashiError as exc:
            pytest.fail(f"yarakashi: {exc}", pytrace=False)
        print(report.text())
        if keep:
            kept.append(checks.check_vm(on))
            check.host = kept[-1].guest.testinfra()  # type: ignore[attr-defined]
        return report

    yield check
    for m in kept:  # kept for this test only
        m.destroy()
