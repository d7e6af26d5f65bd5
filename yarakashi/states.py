"""Saved lab states that outlive a command, and what decides whether one still stands.

``lab.check`` saves the running guest after the steps before the fix (apparmor-cache: prepare,
break, a real reboot) and keeps it, stopped, with that state in its disk. The next
``lab.check`` of the same lab and platform in this checkout resumes it in seconds, but only
while its key is the same: the box, ``lab.toml``, ``Vagrantfile.j2``, the steps and every file
under the lab's and the common provisioning directories. Change one and the state is made anew.

>>> from yarakashi import catalogue
>>> lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
>>> key(lab, plat, ["prepare", "break", "reboot"]) == key(lab, plat, ["prepare", "break"])
False
>>> len(key(lab, plat, ["prepare"]))
16
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from yarakashi import boxes, catalogue, paths


def key(lab: catalogue.Lab, plat: catalogue.Platform, steps: list[str]) -> str:
    """A short hash of everything that makes the state after ``steps`` on a fresh VM."""
    digest = hashlib.sha256(" ".join(["steps:", *steps]).encode())
    digest.update((boxes.input_key(plat) if plat.offline else f"box {plat.box}").encode())
    files = [paths.LABS / lab.name / "lab.toml", paths.REPO / "Vagrantfile.j2"]
    for folder in (paths.PROVISIONING / "common", paths.PROVISIONING / lab.name):
        files += sorted(p for p in folder.rglob("*") if p.is_file())
    files += [lab.script(step, plat.name) for step in steps if step in lab.steps]
    for path in map(Path, files):
        name = path.relative_to(paths.REPO) if path.is_relative_to(paths.REPO) else path
        digest.update(f"\0{name.as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
