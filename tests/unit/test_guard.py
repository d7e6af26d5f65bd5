"""Guest scripts refuse to run on the host, and every shell script passes shellcheck."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from yarakashi import paths

SOURCES_GUARD = re.compile(r'^\. "\$YK_LAB_DIR/common/guard\.sh"$', re.M)
SCRIPTS = sorted(p for p in paths.PROVISIONING.rglob("*.sh") if SOURCES_GUARD.search(p.read_text()))
ALL_SHELL = sorted([*paths.PROVISIONING.rglob("*.sh"), paths.REPO / "run", paths.REPO / ".ci" / "run"])


def test_destructive_scripts_all_use_the_guard() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"deploy-naive.sh", "deploy-fixed.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(paths.REPO)))
def test_guest_script_refuses_to_run_on_the_host(script: Path, tmp_path: Path) -> None:
    # Stand-ins for every command a step could run: if the guard ever let a script
    # through, they would only write to calls.log; the host stays untouched either way.
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls.log"
    for tool in ("sudo", "rsync", "systemctl", "apt-get", "dpkg", "mysql", "reboot", "apparmor_parser"):
        (fake / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        (fake / tool).chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "refusing to run" in done.stderr and "not inside a yarakashi lab guest" in done.stderr
    assert not calls.exists(), calls.read_text()


def test_shellcheck_is_clean() -> None:
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed: run ./run setup first")
    existing = [str(p) for p in ALL_SHELL if p.exists()]
    done = subprocess.run(["shellcheck", "-x", *existing], capture_output=True, text=True, cwd=paths.REPO)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("root", ["/", "."])
def test_lean_boot_refuses_a_tree_that_is_not_a_box(root: str, tmp_path: Path) -> None:
    # It masks units and rewrites the initramfs settings of the tree it is given: never the host's.
    done = subprocess.run(["bash", str(paths.PROVISIONING / "box" / "lean-boot.sh"), root],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 3 and "is not a box's root tree" in done.stderr
