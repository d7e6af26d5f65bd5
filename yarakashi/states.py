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
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from yarakashi import YarakashiError, boxes, failures, model, paths
from yarakashi.progress import say

if TYPE_CHECKING:
    from yarakashi.machine import Machine


def key(lab: model.Lab, plat: model.Platform, steps: list[str]) -> str:
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


class Saved:
    """A lab VM's saved running states (``m.states``): :meth:`save` one, :meth:`get` what was
    recorded of it, :meth:`return_to` it."""

    def __init__(self, m: Machine):
        self.m = m

    def save(self, name: str, key: str = "") -> None:
        """Save the running guest as ``name``, its memory with it (about a second; it goes on).

        :meth:`return_to` resumes exactly that moment of that boot: nothing is rebooted or
        skipped. ``key`` says what made the state (:func:`key`), for a later command.
        """
        with failures.step(f"saving the state {name!r} of {self.m.domain}"):
            boot = self.m.guest.boot_id() or ""
            self.m.hv.snapshot(self.m, name)
        record = {"key": key, "boot": boot, "saved": time.strftime("%Y-%m-%d %H:%M:%S")}
        self._file(name).parent.mkdir(parents=True, exist_ok=True)
        self._file(name).write_text(json.dumps(record))
        say(f"{self.m.domain}: state {name!r} saved (running, boot {boot[:8]})")

    def get(self, name: str) -> dict[str, str] | None:
        """What :meth:`save` recorded of ``name`` (key, boot, saved), if the VM still has it."""
        path = self._file(name)
        return json.loads(path.read_text()) if path.is_file() and self.m.exists() else None

    def return_to(self, name: str, timeout: float = 120) -> str:
        """Resume the running state saved as ``name`` (a stopped VM takes a place first); set
        its clock to the host's (it stood still while saved). Returns the boot id, the saved one."""
        record = self.get(name)
        if record is None:
            raise YarakashiError(f"{self.m.domain} has no saved state {name!r}")
        with self.m._place(), failures.step(f"returning {self.m.domain} to the state {name!r}"):
            self.m.hv.prepare()
            self.m.hv.restore(self.m, name)
            boot = self.m.guest.wait_new_boot(None, timeout, what=f"answering in the state {name!r}", interval=1)
        if record["boot"] and boot != record["boot"]:
            raise failures.ToolFailed(f"{self.m.domain} came back in the state {name!r} on boot {boot[:8]}, "
                                      f"not the saved boot {record['boot'][:8]}")
        self.m.guest.ssh(f"sudo -n date -u -s @{time.time():.0f}", timeout=30)
        say(f"{self.m.domain}: back in the state {name!r} (saved {record['saved']})")
        return boot

    def _file(self, name: str) -> Path:
        """What :meth:`save` recorded, one file per VM: s2 and s1 share the work directory."""
        return self.m.workdir / "states" / (f"{name}.json" if self.m.vm == "default" else f"{name}-{self.m.vm}.json")
