"""The libvirt provider: every act on a lab VM that goes through libvirt (``virsh``).

libvirtd itself, its pool and its network namespace are ``labnet``'s; this module acts on
domains and volumes: the plug, the power button, console keys, a stopped disk read from the
host, internal snapshots, and the box's copy in the storage pool. One instance per libvirt
host (``hosts``): this machine's (:data:`PROVIDER`), or another's reached by its URI.

>>> PROVIDER.name, PROVIDER.host.name
('libvirt', 'this machine')
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from yarakashi import YarakashiError, disk, failures, hosts, labnet, paths
from yarakashi.catalogue import Platform
from yarakashi.failures import ToolFailed, tail
from yarakashi.progress import say
from yarakashi.providers import GUEST_PREFIX, Unsupported, Vm


#: Other libvirt hosts whose pool and network this process has made sure of (each check is
#: five virsh calls, each a new SSH connection; a VM's ``up`` asked three times).
_READY: set[str] = set()


class Libvirt:
    """Lab VMs as libvirt domains (QEMU under TCG here, KVM where it works) on one libvirt host."""

    name = "libvirt"

    def __init__(self, host: hosts.Host = hosts.Host()):
        self.host = host

    def virsh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``virsh`` on this provider's host."""
        return labnet.virsh(*args, check=check, uri=self.host.libvirt_uri())

    def _answers(self) -> bool:
        """False when this machine's libvirtd is down (a remote host is asked, and says why)."""
        return not self.host.local or labnet.LIBVIRT_SOCKET.exists()

    # What a Provider does (providers.Provider)

    def prepare(self) -> str:
        if not self.host.local:
            if self.host.uri not in _READY:  # once per process: nothing of ours removes them there
                labnet.ensure_remote(self.host.uri)
                _READY.add(self.host.uri)
            return self.host.proxy_command()
        labnet.ensure()
        return labnet.proxy_command()

    def hard_stop(self, vm: Vm) -> None:
        self._hard_stop(vm.domain)

    def before_destroy(self, vm: Vm) -> None:
        """vagrant-libvirt removes the management network with the VM that created it, when no
        running domain is attached at that instant - while another lab VM may be between its
        definition and its start ("Network not found: no network with matching name
        'vagrant-libvirt'"). The network is the lab network's, shared by every VM, and goes with
        ``labnet.teardown``: the VM forgets that it created it."""
        for record in (vm.workdir / ".vagrant" / "machines").glob("*/libvirt/created_networks"):
            record.unlink()
        # A domain with snapshots cannot be undefined; their data goes with its volume.
        for snap in self.virsh("snapshot-list", vm.domain, "--name", check=False).stdout.split():
            self.virsh("snapshot-delete", vm.domain, snap, "--metadata", check=False)

    def power_cycle(self, vm: Vm) -> bool:
        clean = self.shut_down(vm)
        say(f"{vm.domain}: cold start")
        self.virsh("start", vm.domain)
        return clean

    def shut_down(self, vm: Vm) -> bool:
        say(f"powering off {vm.domain} (ACPI power button; the plug after 120 s)")
        clean = self.power_off(vm.domain)
        say(f"{vm.domain} is off ({'shut down by itself' if clean else 'had to pull the plug'})")
        return clean

    def start(self, vm: Vm) -> None:
        self.virsh("start", vm.domain)

    def sysrq(self, vm: Vm, key: str) -> None:
        say(f"pressing Alt+SysRq+{key.upper()} on the console of {vm.domain}")
        self._sysrq(vm.domain, key)

    def read_offline(self, vm: Vm, path: str) -> str:
        if not self.host.local:
            raise Unsupported(f"reading the stopped disk of {vm.domain} needs its file on this machine; "
                              f"it is on {self.host.name} (log in there, or read it in the guest)")
        say(f"{vm.domain}: Alt+SysRq+S, Alt+SysRq+U on the console (sync, remount read-only), then the plug")
        settled = self.flush(vm.domain)
        say(f"{vm.domain}: {'writes settled' if settled else 'still writing after 90 s; reading what is there'}")
        self._hard_stop(vm.domain)
        return disk.stat(self.disk_of(vm.domain), path, vm.workdir)

    def snapshot(self, vm: Vm, name: str) -> None:
        # An internal qcow2 snapshot; of a running domain it holds the memory too (QEMU's savevm).
        self.virsh("snapshot-create-as", vm.domain, name, "--atomic")

    def restore(self, vm: Vm, name: str) -> None:
        self.virsh("snapshot-revert", vm.domain, name)

    def forget(self, vm: Vm, name: str) -> None:
        self.virsh("snapshot-delete", vm.domain, name)

    def remove(self, vm: Vm) -> None:
        if vm.domain in self.domains(vm.domain):
            self.remove_domain(vm.domain)
        for volume in self.volumes(vm.domain):  # an interrupted `vagrant up` may leave one
            self.remove_volume(volume)

    def vms(self, prefix: str) -> list[str]:
        return self.domains(prefix)

    def running(self, prefix: str) -> list[str]:
        if not self._answers():
            return []
        return [d for d in self.virsh("list", "--name", check=False).stdout.split() if d.startswith(prefix)]

    def sweep(self, prefix: str) -> list[str]:
        gone = self.domains(prefix)
        for dom in gone:
            self.remove_domain(dom)
        for vol in self.volumes(prefix):
            self.remove_volume(vol)
        return gone

    def preload_box(self, plat: Platform) -> None:
        """Upload the box into the pool with virsh (seconds) before vagrant-libvirt would (a minute)."""
        self.prepare()
        name = pool_volume(plat)
        if name in self.volumes(name):
            return
        image = box_image(plat)
        where = "" if self.host.local else f" of {self.host.name}"
        with failures.step(f"copying box {plat.box} into the storage pool{where}"):
            size = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image)], capture_output=True,
                                             text=True, check=True).stdout)["virtual-size"]
            self.create_volume(name, size, image)
        say(f"box {plat.box} copied into the storage pool{where} as {name}")
        if not self.host.local:  # here a build drops them (boxes._build); there, the first copy of a new build
            self.drop_old_box_copies(plat)

    def drop_old_box_copies(self, plat: Platform) -> bool:
        """Delete the copies vagrant-libvirt uploaded of older builds of this box; False when
        they were kept.

        Kept while any lab VM exists: it may use one as its backing image. (A new build gets a
        volume of its own name, so a kept copy is never used for new VMs.)
        """
        self.prepare()
        current = pool_volume(plat) if box_image(plat).exists() else None
        copies = [v for v in self.volumes(plat.box.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_") if v != current]
        if copies and self.domains(GUEST_PREFIX):
            say(f"kept {len(copies)} old pool copies of {plat.box}: lab VMs exist (lab.destroy all, then box.build, frees them)")
            return False
        for vol in copies:
            self.remove_volume(vol)
        return True

    # Domains and volumes, by name

    def domains(self, prefix: str = "") -> list[str]:
        """Names of libvirt domains (running or not) starting with ``prefix``."""
        if not self._answers():
            return []
        out = self.virsh("list", "--all", "--name", check=False).stdout
        return [d for d in out.split() if d.startswith(prefix)]

    def volumes(self, prefix: str = "") -> list[str]:
        """Names of volumes in the storage pool starting with ``prefix``."""
        if not self._answers():
            return []
        out = self.virsh("vol-list", labnet.POOL, check=False).stdout
        return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(prefix)]

    def disk_of(self, domain: str) -> Path:
        """The file behind a domain's first disk (vda)."""
        for line in self.virsh("domblklist", "--details", domain).stdout.splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[1] == "disk":
                return Path(fields[3])
        raise YarakashiError(f"no disk found for domain {domain}")

    def _sysrq(self, domain: str, key: str) -> None:
        """Alt+SysRq+``key`` on the guest's console keyboard (``virsh send-key``): what an operator
        does from a hung machine's console, e.g. ``f`` to call the OOM killer."""
        self.virsh("send-key", domain, "KEY_LEFTALT", "KEY_SYSRQ", f"KEY_{key.upper()}")

    def _writes(self, domain: str) -> str:
        """The disk's write and flush counters (``virsh domblkstat``), as one comparable string."""
        out = self.virsh("domblkstat", domain, "vda", check=False).stdout
        return " ".join(line.split()[-1] for line in out.splitlines() if re.search(r"\b(wr_req|wr_bytes|flush_operations)\b", line))

    def flush(self, domain: str, settle: float = 3, timeout: float = 90) -> bool:
        """Make the guest write out what it holds before the plug is pulled: Alt+SysRq+S (sync)
        and +U (remount read-only) on the console, as an operator does at a hung machine.

        Returns True once the disk has taken no write for ``settle`` seconds (the guest is done),
        False when writes still came after ``timeout`` seconds (the caller reads what is there).
        """
        self._sysrq(domain, "s")
        self._sysrq(domain, "u")
        last, quiet_since = self._writes(domain), time.monotonic()
        deadline = quiet_since + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self._writes(domain)
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return True
        return False

    def _hard_stop(self, domain: str) -> None:
        """Pull the plug: ``virsh destroy`` (vagrant-libvirt's ``halt --force`` still tries an
        ACPI shutdown first and waits, and a broken guest cannot shut down)."""
        if self.virsh("domstate", domain, check=False).stdout.strip() not in ("shut off", ""):
            self.virsh("destroy", domain, check=False)

    def power_off(self, domain: str, grace: float = 120) -> bool:
        """The power button (ACPI), then the plug after ``grace`` seconds; True if it shut down itself."""
        self.virsh("shutdown", domain, check=False)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self.virsh("domstate", domain, check=False).stdout.strip() == "shut off":
                return True
            time.sleep(2)
        self._hard_stop(domain)
        return False

    def remove_domain(self, domain: str) -> None:
        """Hard-stop and undefine a domain with its storage (a broken guest cannot power off)."""
        self.virsh("destroy", domain, check=False)
        self.virsh("undefine", domain, "--remove-all-storage", "--nvram", "--snapshots-metadata", check=False)

    def create_volume(self, name: str, size: int, source: Path) -> None:
        """A qcow2 volume in the pool with ``source``'s bytes (removed again if the upload fails)."""
        self.virsh("vol-create-as", labnet.POOL, name, str(size), "--format", "qcow2")
        done = self.virsh("vol-upload", "--pool", labnet.POOL, name, str(source), check=False)
        if done.returncode != 0:
            self.remove_volume(name)
            raise ToolFailed(f"uploading {source} into the pool {labnet.POOL} failed: virsh exited {done.returncode}: "
                             f"{tail(done.stderr)}")

    def remove_volume(self, name: str) -> None:
        """Delete a volume from the pool (ignored when absent)."""
        self.virsh("vol-delete", "--pool", labnet.POOL, name, check=False)


def box_image(plat: Platform) -> Path:
    """The disk image of an offline (libvirt) box as Vagrant keeps it (present once ``vagrant box add`` ran)."""
    return paths.vagrant_home() / "boxes" / plat.box.replace("/", "-VAGRANTSLASH-") / "0" / "libvirt" / "box.img"


def pool_volume(plat: Platform) -> str:
    """The name vagrant-libvirt 0.11 gives the box's copy in the storage pool.

    For an unversioned box it is ``<box>_vagrant_box_image_0_<mtime of box.img>_box.img``.
    """
    mtime = int(box_image(plat).stat().st_mtime)
    return plat.box.replace("/", "-VAGRANTSLASH-") + f"_vagrant_box_image_0_{mtime}_box.img"


#: This machine's libvirt (its lab network's libvirtd).
PROVIDER = Libvirt()
