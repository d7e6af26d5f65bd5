"""Unit-test fixtures shared by several modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

@pytest.fixture
def vboxmanage(tmp_path: Path) -> dict[str, str]:
    """A stand-in VBoxManage that only tells its version: with it Vagrant checks the
    VirtualBox settings (without one it silently skips them)."""
    fake = tmp_path / "vbox-bin"
    fake.mkdir()
    (fake / "VBoxManage").write_text("#!/bin/sh\necho 7.0.20r163906\n")
    (fake / "VBoxManage").chmod(0o755)
    return {"PATH": f"{fake}:{os.environ['PATH']}"}
