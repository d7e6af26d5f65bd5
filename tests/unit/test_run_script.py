"""The README's commands work as typed: ``./run`` as root runs the task; as another user it
runs itself again through sudo, or through su where sudo is not installed (root password only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from yarakashi import paths


@pytest.fixture
def bindir() -> Iterator[Path]:
    """A PATH of its own, readable by an unprivileged user: the few tools ./run needs, and no sudo."""
    top = Path(tempfile.mkdtemp(prefix="yk-run-"))
    top.chmod(0o755)
    (top / "bin").mkdir(mode=0o755)
    for tool in ("bash", "id", "dirname", "cat"):
        (top / "bin" / tool).symlink_to(shutil.which(tool))
    yield top / "bin"
    shutil.rmtree(top)


def stand_in(bindir: Path, name: str) -> None:
    (bindir / name).write_text(f'#!/bin/bash\necho "{name} $*"\n')
    (bindir / name).chmod(0o755)


def as_nobody(bindir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")  # CI and ./run run as root
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                           "env", "-i", f"PATH={bindir}", "bash", str(paths.REPO / "run"), *args],
                          capture_output=True, text=True, timeout=30)


def test_a_user_with_sudo_gets_it_through_sudo(bindir: Path) -> None:
    stand_in(bindir, "sudo")
    done = as_nobody(bindir, "lab.up", "rsync-dirlinks")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sudo -- {paths.REPO}/run lab.up rsync-dirlinks"


def test_without_sudo_it_asks_for_roots_password_through_su(bindir: Path) -> None:
    stand_in(bindir, "su")
    done = as_nobody(bindir, "test")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"su root -c {paths.REPO}/run test \n"
    assert "sudo is not installed: su asks for root's password" in done.stderr


def test_the_readme_quick_start_is_what_ci_runs() -> None:
    readme = (paths.REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["./run lab.up rsync-dirlinks", "./run test"]
    assert "\n./run test 2>&1" in (paths.REPO / ".ci" / "run").read_text()
