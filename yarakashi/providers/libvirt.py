"""The libvirt provider: every act on a lab VM that goes through libvirt (``virsh``).

libvirtd itself, its pool and its network namespace are ``labnet``'s; this module acts on
domains and volumes: the plug, the power button, console keys, a stopped disk read from the
host, internal snapshots, and the box's copy in the storage pool. What needs only a domain's
name (power, keys, its disk) is ``libvirt_domain``'s; the box's copy is ``libvirt_pool``'s. One
instance per libvirt host (``hosts``): this machine's (:data:`PROVIDER`), or another's reached
by its URI.

>>> PROVIDER.name, PROVIDER.host.name
('libvirt', 'this machine')
"""

from __future__ import annotations

import subprocess

from yarakashi import hosts, labnet
from yarakashi.catalogue import Platform
from yarakashi.progress import say
from yarakashi.providers import Unsupported, Vm, libvirt_pool
from yarakashi.providers.libvirt_domain import Domain


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

    def domain(self, name: str) -> Domain:
        """The domain ``name`` on this provider's host, to act on by its name alone."""
        return Domain(self.virsh, name)

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
        self.domain(vm.domain).hard_stop()

    def before_destroy(self, vm: Vm) -> None:
        """vagrant-libvirt removes the management network with the VM that created it, when no
        running domain is attached at that instant - while another lab VM may be between its
        definition and its start ("Network not found: no network with matching name
        'vagrant-libvirt'"). The network is the lab network's, shared by every VM, and goes with
        ``labnet.teardown``: the VM forgets that it created it."""
        for record in (vm.workdir / ".vagrant" / "machines").glob("*/libvirt/created_networks"):
            record.unlink()
        self.domain(vm.domain).forget_snapshots()

    def power_cycle(self, vm: Vm) -> bool:
        clean = self.shut_down(vm)
        say(f"{vm.domain}: cold start")
        self.virsh("start", vm.domain)
        return clean

    def shut_down(self, vm: Vm) -> bool:
        return self.domain(vm.domain).power_off()

    def start(self, vm: Vm) -> None:
        self.virsh("start", vm.domain)

    def sysrq(self, vm: Vm, key: str) -> None:
        say(f"pressing Alt+SysRq+{key.upper()} on the console of {vm.domain}")
        self.domain(vm.domain).sysrq(key)

    def read_offline(self, vm: Vm, path: str) -> str:
        if not self.host.local:
            raise Unsupported(f"reading the stopped disk of {vm.domain} needs its file on this machine; "
                              f"it is on {self.host.name} (log in there, or read it in the guest)")
        return self.domain(vm.domain).read_offline(path, vm.workdir)

    def snapshot(self, vm: Vm, name: str) -> None:
        # An internal qcow2 snapshot; of a running domain it holds the memory too (QEMU's savevm).
        self.virsh("snapshot-create-as", vm.domain, name, "--atomic")

    def restore(self, vm: Vm, name: str) -> None:
        self.virsh("snapshot-revert", vm.domain, name)

    def forget(self, vm: Vm, name: str) -> None:
        self.virsh("snapshot-delete", vm.domain, name)

    def remove(self, vm: Vm) -> None:
        if vm.domain in self.domains(vm.domain):
            self.domain(vm.domain).remove()
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
            self.domain(dom).remove()
        for vol in self.volumes(prefix):
            self.remove_volume(vol)
        return gone

    def preload_box(self, plat: Platform) -> bool:
        return libvirt_pool.preload_box(self, plat)

    def drop_old_box_copies(self, plat: Platform) -> bool:
        """Delete the pool copies of older builds of ``plat``'s box unless a lab VM may use one
        (see :func:`libvirt_pool.drop_old_box_copies`); False when they were kept."""
        return libvirt_pool.drop_old_box_copies(self, plat)

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

    def remove_volume(self, name: str) -> None:
        """Delete a volume from the pool (ignored when absent)."""
        self.virsh("vol-delete", "--pool", labnet.POOL, name, check=False)


#: This machine's libvirt (its lab network's libvirtd).
PROVIDER = Libvirt()
