"""The libvirt provider: every act on a lab VM that goes through libvirt (``virsh``).

libvirtd itself, its pool and its network namespace are ``labnet``'s; this module acts on
domains and volumes: the plug, the power button, console keys, a stopped disk read from the
host, internal snapshots, and the box's copy in the storage pool.

>>> PROVIDER.name
'libvirt'
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from yarakashi import YarakashiError, boxes, disk, failures, labnet
from yarakashi.catalogue import Platform
from yarakashi.failures import ToolFailed, tail
from yarakashi.labnet import virsh
from yarakashi.progress import say
from yarakashi.providers import Vm


def domains(prefix: str = "") -> list[str]:
    """Names of libvirt domains (running or not) starting with ``prefix``."""
    if not labnet.LIBVIRT_SOCKET.exists():
        return []
    out = virsh("list", "--all", "--name", check=False).stdout
    return [d for d in out.split() if d.startswith(prefix)]


def volumes(prefix: str = "") -> list[str]:
    """Names of volumes in the storage pool starting with ``prefix``."""
    if not labnet.LIBVIRT_SOCKET.exists():
        return []
    out = virsh("vol-list", labnet.POOL, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(prefix)]


def disk_of(domain: str) -> Path:
    """The file behind a domain's first disk (vda)."""
    for line in virsh("domblklist", "--details", domain).stdout.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[1] == "disk":
            return Path(fields[3])
    raise YarakashiError(f"no disk found for domain {domain}")


def sysrq(name: str, key: str) -> None:
    """Alt+SysRq+``key`` on the guest's console keyboard (``virsh send-key``): what an operator
    does from a hung machine's console, e.g. ``f`` to call the OOM killer."""
    virsh("send-key", name, "KEY_LEFTALT", "KEY_SYSRQ", f"KEY_{key.upper()}")


def _writes(name: str) -> str:
    """The disk's write and flush counters (``virsh domblkstat``), as one comparable string."""
    out = virsh("domblkstat", name, "vda", check=False).stdout
    return " ".join(line.split()[-1] for line in out.splitlines() if re.search(r"\b(wr_req|wr_bytes|flush_operations)\b", line))


def flush(name: str, settle: float = 3, timeout: float = 90) -> bool:
    """Make the guest write out what it holds before the plug is pulled: Alt+SysRq+S (sync)
    and +U (remount read-only) on the console, as an operator does at a hung machine.

    Returns True once the disk has taken no write for ``settle`` seconds (the guest is done),
    False when writes still came after ``timeout`` seconds (the caller reads what is there).
    """
    sysrq(name, "s")
    sysrq(name, "u")
    last, quiet_since = _writes(name), time.monotonic()
    deadline = quiet_since + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _writes(name)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            return True
    return False


def hard_stop(name: str) -> None:
    """Pull the plug: ``virsh destroy`` (vagrant-libvirt's ``halt --force`` still tries an
    ACPI shutdown first and waits, and a broken guest cannot shut down)."""
    if virsh("domstate", name, check=False).stdout.strip() not in ("shut off", ""):
        virsh("destroy", name, check=False)


def power_off(name: str, grace: float = 120) -> bool:
    """The power button (ACPI), then the plug after ``grace`` seconds; True if it shut down itself."""
    virsh("shutdown", name, check=False)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if virsh("domstate", name, check=False).stdout.strip() == "shut off":
            return True
        time.sleep(2)
    hard_stop(name)
    return False


def start(name: str) -> None:
    """Cold-start a stopped domain."""
    virsh("start", name)


def remove_domain(name: str) -> None:
    """Hard-stop and undefine a domain with its storage (a broken guest cannot power off)."""
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--remove-all-storage", "--nvram", "--snapshots-metadata", check=False)


def create_volume(name: str, size: int, source: Path) -> None:
    """A qcow2 volume in the pool with ``source``'s bytes (removed again if the upload fails)."""
    virsh("vol-create-as", labnet.POOL, name, str(size), "--format", "qcow2")
    done = virsh("vol-upload", "--pool", labnet.POOL, name, str(source), check=False)
    if done.returncode != 0:
        remove_volume(name)
        raise ToolFailed(f"uploading {source} into the pool {labnet.POOL} failed: virsh exited {done.returncode}: "
                         f"{tail(done.stderr)}")


def remove_volume(name: str) -> None:
    """Delete a volume from the pool (ignored when absent)."""
    virsh("vol-delete", "--pool", labnet.POOL, name, check=False)


class Libvirt:
    """Lab VMs as libvirt domains (QEMU under TCG here, KVM where it works)."""

    name = "libvirt"

    def prepare(self) -> str:
        labnet.ensure()
        return labnet.proxy_command()

    def hard_stop(self, vm: Vm) -> None:
        hard_stop(vm.domain)

    def before_destroy(self, vm: Vm) -> None:
        """vagrant-libvirt removes the management network with the VM that created it, when no
        running domain is attached at that instant - while another lab VM may be between its
        definition and its start ("Network not found: no network with matching name
        'vagrant-libvirt'"). The network is the lab network's, shared by every VM, and goes with
        ``labnet.teardown``: the VM forgets that it created it."""
        for record in (vm.workdir / ".vagrant" / "machines").glob("*/libvirt/created_networks"):
            record.unlink()
        # A domain with snapshots cannot be undefined; their data goes with its volume.
        for snap in virsh("snapshot-list", vm.domain, "--name", check=False).stdout.split():
            virsh("snapshot-delete", vm.domain, snap, "--metadata", check=False)

    def power_cycle(self, vm: Vm) -> bool:
        clean = self.shut_down(vm)
        say(f"{vm.domain}: cold start")
        start(vm.domain)
        return clean

    def shut_down(self, vm: Vm) -> bool:
        say(f"powering off {vm.domain} (ACPI power button; the plug after 120 s)")
        clean = power_off(vm.domain)
        say(f"{vm.domain} is off ({'shut down by itself' if clean else 'had to pull the plug'})")
        return clean

    def start(self, vm: Vm) -> None:
        start(vm.domain)

    def sysrq(self, vm: Vm, key: str) -> None:
        say(f"pressing Alt+SysRq+{key.upper()} on the console of {vm.domain}")
        sysrq(vm.domain, key)

    def read_offline(self, vm: Vm, path: str) -> str:
        say(f"{vm.domain}: Alt+SysRq+S, Alt+SysRq+U on the console (sync, remount read-only), then the plug")
        settled = flush(vm.domain)
        say(f"{vm.domain}: {'writes settled' if settled else 'still writing after 90 s; reading what is there'}")
        hard_stop(vm.domain)
        return disk.stat(disk_of(vm.domain), path, vm.workdir)

    def snapshot(self, vm: Vm, name: str) -> None:
        # An internal qcow2 snapshot; of a running domain it holds the memory too (QEMU's savevm).
        virsh("snapshot-create-as", vm.domain, name, "--atomic")

    def restore(self, vm: Vm, name: str) -> None:
        virsh("snapshot-revert", vm.domain, name)

    def forget(self, vm: Vm, name: str) -> None:
        virsh("snapshot-delete", vm.domain, name)

    def remove(self, vm: Vm) -> None:
        if vm.domain in domains(vm.domain):
            remove_domain(vm.domain)
        for volume in volumes(vm.domain):  # an interrupted `vagrant up` may leave one
            remove_volume(volume)

    def vms(self, prefix: str) -> list[str]:
        return domains(prefix)

    def running(self, prefix: str) -> list[str]:
        if not labnet.LIBVIRT_SOCKET.exists():
            return []
        return [d for d in virsh("list", "--name", check=False).stdout.split() if d.startswith(prefix)]

    def sweep(self, prefix: str) -> list[str]:
        gone = domains(prefix)
        for dom in gone:
            remove_domain(dom)
        for vol in volumes(prefix):
            remove_volume(vol)
        return gone

    def preload_box(self, plat: Platform) -> None:
        """Upload the box into the pool with virsh (seconds) before vagrant-libvirt would (a minute)."""
        labnet.ensure()
        name = pool_volume(plat)
        if name in volumes(name):
            return
        image = boxes.box_image(plat)
        with failures.step(f"copying box {plat.box} into the storage pool"):
            size = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image)], capture_output=True,
                                             text=True, check=True).stdout)["virtual-size"]
            create_volume(name, size, image)
        say(f"box {plat.box} copied into the storage pool as {name}")

    def drop_old_box_copies(self, plat: Platform) -> None:
        """Delete the copies vagrant-libvirt uploaded of older builds of this box.

        Kept while any lab VM exists: it may use one as its backing image. (A new build gets a
        volume of its own name, so a kept copy is never used for new VMs.)
        """
        labnet.ensure()
        current = pool_volume(plat) if boxes.box_image(plat).exists() else None
        copies = [v for v in volumes(plat.box.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_") if v != current]
        if copies and domains("yk-"):
            say(f"kept {len(copies)} old pool copies of {plat.box}: lab VMs exist (lab.destroy all, then box.build, frees them)")
            return
        for vol in copies:
            remove_volume(vol)


def pool_volume(plat: Platform) -> str:
    """The name vagrant-libvirt 0.11 gives the box's copy in the storage pool.

    For an unversioned box it is ``<box>_vagrant_box_image_0_<mtime of box.img>_box.img``.
    """
    mtime = int(boxes.box_image(plat).stat().st_mtime)
    return plat.box.replace("/", "-VAGRANTSLASH-") + f"_vagrant_box_image_0_{mtime}_box.img"


PROVIDER = Libvirt()
