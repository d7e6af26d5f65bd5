"""The VirtualBox provider: the Ubuntu platforms on a laptop (Windows, macOS on Intel, Linux).

Not run on this project's machines (no VirtualBox there); its commands are unit-tested with
a stand-in ``VBoxManage``. The VM's name is the one Vagrantfile.j2 gives it (``vb.name``).

>>> PROVIDER.name
'virtualbox'
"""

from __future__ import annotations

import re
import subprocess

from yarakashi import failures
from yarakashi.catalogue import Platform
from yarakashi.progress import say
from yarakashi.providers import Unsupported, Vm


def vboxmanage(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``VBoxManage ARGS``, output captured."""
    return subprocess.run(["VBoxManage", *args], capture_output=True, text=True, check=check)


class VirtualBox:
    """Lab VMs as VirtualBox machines, driven through Vagrant and ``VBoxManage``."""

    name = "virtualbox"

    def prepare(self) -> str:
        return ""

    def hard_stop(self, vm: Vm) -> None:
        if vm.domain in self._running():
            vboxmanage("controlvm", vm.domain, "poweroff", check=False)

    def before_destroy(self, vm: Vm) -> None:
        return None  # VirtualBox's networks are not removed with a VM

    def power_cycle(self, vm: Vm) -> bool:
        say(f"powering off {vm.domain} (vagrant halt: ACPI, then forced), then a cold start (vagrant up)")
        with failures.step(f"power cycle of {vm.domain}"):
            vm.vagrant().halt(vm_name=vm.vm)
            vm.vagrant().up(provider=self.name, vm_name=vm.vm)  # provisioners do not run again
        return True

    def shut_down(self, vm: Vm) -> bool:
        say(f"powering off {vm.domain} (vagrant halt: ACPI, then forced)")
        with failures.step(f"shutting down {vm.domain}"):
            vm.vagrant().halt(vm_name=vm.vm)
        return True

    def start(self, vm: Vm) -> None:
        with failures.step(f"starting {vm.domain}"):
            vm.vagrant().up(provider=self.name, vm_name=vm.vm)  # provisioners do not run again

    def sysrq(self, vm: Vm, key: str) -> None:
        raise Unsupported("SysRq keys on the console need the libvirt provider (YARAKASHI_PROVIDER=libvirt)")

    def read_offline(self, vm: Vm, path: str) -> str:
        raise Unsupported("reading a stopped guest's disk needs the libvirt provider (YARAKASHI_PROVIDER=libvirt)")

    def snapshot(self, vm: Vm, name: str) -> None:
        vboxmanage("snapshot", vm.domain, "take", name, "--live")  # a running VM's memory too

    def restore(self, vm: Vm, name: str) -> None:
        self.hard_stop(vm)
        vboxmanage("snapshot", vm.domain, "restore", name)
        if vm.domain not in self._running():  # a snapshot taken running leaves it "saved": resume it
            vboxmanage("startvm", vm.domain, "--type", "headless")

    def forget(self, vm: Vm, name: str) -> None:
        vboxmanage("snapshot", vm.domain, "delete", name)

    def remove(self, vm: Vm) -> None:
        if vm.domain in self.vms(vm.domain):
            self.hard_stop(vm)
            vboxmanage("unregistervm", vm.domain, "--delete", check=False)

    def vms(self, prefix: str) -> list[str]:
        return [n for n in _names(vboxmanage("list", "vms", check=False).stdout) if n.startswith(prefix)]

    def running(self, prefix: str) -> list[str]:
        return [n for n in self._running() if n.startswith(prefix)]

    def sweep(self, prefix: str) -> list[str]:
        gone = self.vms(prefix)
        for name in gone:
            vboxmanage("controlvm", name, "poweroff", check=False)
            vboxmanage("unregistervm", name, "--delete", check=False)
        return gone

    def preload_box(self, plat: Platform) -> bool:
        return False  # Vagrant imports a downloaded box itself; no offline box's files are this provider's

    def _running(self) -> list[str]:
        return _names(vboxmanage("list", "runningvms", check=False).stdout)


def _names(listing: str) -> list[str]:
    """Names in ``VBoxManage list vms`` output.

    >>> _names('"yk-ab12cd-x-default" {0b5e...}\\n"other" {11aa...}\\n')
    ['yk-ab12cd-x-default', 'other']
    """
    return re.findall(r'^"(.*)" \{', listing, re.M)


PROVIDER = VirtualBox()
