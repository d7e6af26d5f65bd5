"""One libvirt domain by name: the plug, the power button, console keys, its snapshots'
metadata, and its disk read from the host once it is stopped.

Apart from :class:`~yarakashi.providers.libvirt.Libvirt` because these acts need only the
domain's name and a way to run ``virsh`` on its host, not the lab VM around it; the provider
says which host (and whether its disk file is reachable from here).

>>> calls = []
>>> def virsh(*args, check=True):
...     calls.append(args)
...     return subprocess.CompletedProcess(args, 0, "running\\n", "")
>>> Domain(virsh, "yk-x-default").hard_stop()
>>> calls
[('domstate', 'yk-x-default'), ('destroy', 'yk-x-default')]
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from yarakashi import YarakashiError, disk
from yarakashi.progress import say


class Virsh(Protocol):
    """``virsh`` on one libvirt host (``Libvirt.virsh``): fails unless ``check`` is False."""

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]: ...


@dataclass(frozen=True)
class Domain:
    """A libvirt domain called ``name`` on the host ``virsh`` reaches."""

    virsh: Virsh
    name: str

    def sysrq(self, key: str) -> None:
        """Alt+SysRq+``key`` on the guest's console keyboard (``virsh send-key``): what an operator
        does from a hung machine's console, e.g. ``f`` to call the OOM killer."""
        self.virsh("send-key", self.name, "KEY_LEFTALT", "KEY_SYSRQ", f"KEY_{key.upper()}")

    def hard_stop(self) -> None:
        """Pull the plug: ``virsh destroy`` (vagrant-libvirt's ``halt --force`` still tries an
        ACPI shutdown first and waits, and a broken guest cannot shut down)."""
        if self.virsh("domstate", self.name, check=False).stdout.strip() not in ("shut off", ""):
            self.virsh("destroy", self.name, check=False)

    def power_off(self, grace: float = 120) -> bool:
        """The power button (ACPI), then the plug after ``grace`` seconds; True if it shut down itself."""
        say(f"powering off {self.name} (ACPI power button; the plug after {grace:.0f} s)")
        clean = self._shut_down(grace)
        say(f"{self.name} is off ({'shut down by itself' if clean else 'had to pull the plug'})")
        return clean

    def _shut_down(self, grace: float) -> bool:
        """:meth:`power_off` without its progress lines."""
        self.virsh("shutdown", self.name, check=False)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self.virsh("domstate", self.name, check=False).stdout.strip() == "shut off":
                return True
            time.sleep(2)
        self.hard_stop()
        return False

    def forget_snapshots(self) -> None:
        """Delete the metadata of the domain's snapshots: a domain with snapshots cannot be
        undefined, and their data goes with its volume."""
        for snap in self.virsh("snapshot-list", self.name, "--name", check=False).stdout.split():
            self.virsh("snapshot-delete", self.name, snap, "--metadata", check=False)

    def remove(self) -> None:
        """Hard-stop and undefine the domain with its storage (a broken guest cannot power off)."""
        self.virsh("destroy", self.name, check=False)
        self.virsh("undefine", self.name, "--remove-all-storage", "--nvram", "--snapshots-metadata", check=False)

    def read_offline(self, path: str, scratch: Path) -> str:
        """Flush the guest, pull the plug and ``debugfs stat`` ``path`` on its disk (copied under
        ``scratch``): the evidence when no session can start. The disk file must be on this machine."""
        say(f"{self.name}: Alt+SysRq+S, Alt+SysRq+U on the console (sync, remount read-only), then the plug")
        settled = self.flush()
        say(f"{self.name}: {'writes settled' if settled else 'still writing after 90 s; reading what is there'}")
        self.hard_stop()
        return disk.stat(self.disk(), path, scratch)

    def flush(self, settle: float = 3, timeout: float = 90) -> bool:
        """Make the guest write out what it holds before the plug is pulled: Alt+SysRq+S (sync)
        and +U (remount read-only) on the console, as an operator does at a hung machine.

        Returns True once the disk has taken no write for ``settle`` seconds (the guest is done),
        False when writes still came after ``timeout`` seconds (the caller reads what is there).
        """
        self.sysrq("s")
        self.sysrq("u")
        last, quiet_since = self._writes(), time.monotonic()
        deadline = quiet_since + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self._writes()
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return True
        return False

    def _writes(self) -> str:
        """The disk's write and flush counters (``virsh domblkstat``), as one comparable string."""
        out = self.virsh("domblkstat", self.name, "vda", check=False).stdout
        return " ".join(line.split()[-1] for line in out.splitlines()
                        if re.search(r"\b(wr_req|wr_bytes|flush_operations)\b", line))

    def disk(self) -> Path:
        """The file behind the domain's first disk (vda)."""
        for line in self.virsh("domblklist", "--details", self.name).stdout.splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[1] == "disk":
                return Path(fields[3])
        raise YarakashiError(f"no disk found for domain {self.name}")
