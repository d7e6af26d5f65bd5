"""Stand-ins for the seams: a hypervisor that only records what it is asked to do."""

from __future__ import annotations

from dataclasses import dataclass, field

from yarakashi.providers import Vm


@dataclass
class FakeHypervisor:
    """``providers.Provider`` without a hypervisor: ``acts`` lists every call, ``names`` the VMs it has."""

    name: str = "libvirt"
    names: list[str] = field(default_factory=list)
    acts: list[tuple[str, str]] = field(default_factory=list)

    def prepare(self) -> str:
        return ""

    def hard_stop(self, vm: Vm) -> None:
        self.acts.append(("hard_stop", vm.domain))

    def before_destroy(self, vm: Vm) -> None:
        self.acts.append(("before_destroy", vm.domain))

    def power_cycle(self, vm: Vm) -> bool:
        self.acts.append(("power_cycle", vm.domain))
        return True

    def shut_down(self, vm: Vm) -> bool:
        self.acts.append(("shut_down", vm.domain))
        return True

    def start(self, vm: Vm) -> None:
        self.acts.append(("start", vm.domain))

    def sysrq(self, vm: Vm, key: str) -> None:
        self.acts.append(("sysrq", key))

    def read_offline(self, vm: Vm, path: str) -> str:
        self.acts.append(("read_offline", path))
        return "Inode: 12   Type: directory"

    def snapshot(self, vm: Vm, name: str) -> None:
        self.acts.append(("snapshot", name))

    def restore(self, vm: Vm, name: str) -> None:
        self.acts.append(("restore", name))

    def forget(self, vm: Vm, name: str) -> None:
        self.acts.append(("forget", name))

    def remove(self, vm: Vm) -> None:
        self.acts.append(("remove", vm.domain))
        if vm.domain in self.names:
            self.names.remove(vm.domain)

    def vms(self, prefix: str) -> list[str]:
        return [n for n in self.names if n.startswith(prefix)]

    def running(self, prefix: str) -> list[str]:
        return self.vms(prefix)

    def sweep(self, prefix: str) -> list[str]:
        gone = self.vms(prefix)
        self.names[:] = [n for n in self.names if n not in gone]
        self.acts += [("sweep", n) for n in gone]
        return gone

    def preload_box(self, plat: object) -> bool:
        self.acts.append(("preload_box", getattr(plat, "name", "")))
        return False
