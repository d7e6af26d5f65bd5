"""Hypervisors: one module per Vagrant provider owns every act on its VMs.

A provider module holds a class with the methods of :class:`Provider` and an instance of it
called ``PROVIDER``. Hard stop, power cycle, console keys, reading a stopped disk, snapshots,
clean-up of what Vagrant leaves, the box format and its preload: nothing outside the module
asks which hypervisor runs a VM. Adding a provider is adding a module here, its name in
:data:`MODULES` and :data:`TOOLS`, and its block in ``Vagrantfile.j2`` (docs/extending.md, "Adding a provider").

>>> sorted(MODULES)
['libvirt', 'virtualbox']
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from yarakashi import YarakashiError

if TYPE_CHECKING:
    import vagrant as vagrant_lib

    from yarakashi.catalogue import Platform
    from yarakashi.hosts import Host

#: Provider name -> the module that implements it (imported only when used).
MODULES = {"libvirt": "yarakashi.providers.libvirt", "virtualbox": "yarakashi.providers.virtualbox"}
#: The command whose presence tells that a provider is installed.
TOOLS = {"libvirt": "virsh", "virtualbox": "VBoxManage"}
#: What every lab VM's name starts with, whatever checkout made it: the only VMs the project's
#: tasks list, count or remove.
GUEST_PREFIX = "yk-"


class Unsupported(YarakashiError):
    """The provider cannot do this (e.g. SysRq keys on VirtualBox)."""


class Vm(Protocol):
    """What a provider needs of a lab VM (``machine.Machine`` is one)."""

    domain: str  # the hypervisor's name of the VM
    workdir: Path
    vm: str  # Vagrant's name of it in its Vagrantfile (``default``, ``s1``)

    def vagrant(self) -> "vagrant_lib.Vagrant": ...


class Provider(Protocol):
    """Every act on a VM that depends on the hypervisor."""

    name: str

    def prepare(self) -> str:
        """Make the hypervisor usable; returns the SSH ProxyCommand guests need ('' for none)."""

    def hard_stop(self, vm: Vm) -> None:
        """Pull the plug (a broken guest cannot shut down)."""

    def before_destroy(self, vm: Vm) -> None:
        """Called before ``vagrant destroy``: keep what other VMs share (a network) alive."""

    def power_cycle(self, vm: Vm) -> bool:
        """The power button, the plug after a grace time, then a cold start; True if it shut down by itself."""

    def shut_down(self, vm: Vm) -> bool:
        """The power button, the plug after a grace time; the VM stays off. True if it shut down by itself."""

    def start(self, vm: Vm) -> None:
        """Cold-start a VM that is off (no provisioner runs)."""

    def sysrq(self, vm: Vm, key: str) -> None:
        """Alt+SysRq+``key`` on the console keyboard."""

    def read_offline(self, vm: Vm, path: str) -> str:
        """Stop the VM and ``debugfs stat`` ``path`` on its disk."""

    def snapshot(self, vm: Vm, name: str) -> None:
        """Save the VM as it is as ``name``: its disks, and a running VM's memory (it goes on running)."""

    def restore(self, vm: Vm, name: str) -> None:
        """Return the VM to the state saved as ``name``: a VM saved running resumes running."""

    def forget(self, vm: Vm, name: str) -> None:
        """Delete the saved state ``name``."""

    def remove(self, vm: Vm) -> None:
        """Remove whatever is left of the VM after ``vagrant destroy`` (or instead of it)."""

    def vms(self, prefix: str) -> list[str]:
        """Names of the VMs (running or not) that start with ``prefix``."""

    def running(self, prefix: str) -> list[str]:
        """Names of the running VMs that start with ``prefix``."""

    def sweep(self, prefix: str) -> list[str]:
        """Remove every VM and disk named ``prefix...``; returns the VMs removed."""

    def preload_box(self, plat: "Platform") -> bool:
        """Put a built box where new VMs are made from, before Vagrant would (slowly), and drop
        older builds' copies no VM uses; True when none is left on this machine."""


_substitutes: dict[str, Provider] = {}


def get(name: str, host: "Host | None" = None) -> Provider:
    """The provider called ``name``, on this machine or on another libvirt ``host``.

    >>> from yarakashi import hosts
    >>> get("libvirt").name, get("libvirt", hosts.parse("qemu+ssh://ws2/system")).host.name
    ('libvirt', 'ws2')
    >>> get("virtualbox", hosts.parse("qemu+ssh://ws2/system"))
    Traceback (most recent call last):
    ...
    yarakashi.providers.Unsupported: VirtualBox runs lab VMs on this machine only: another host (ws2) needs the libvirt provider
    """
    from yarakashi.catalogue import choose

    if name in _substitutes:
        return _substitutes[name]
    module = importlib.import_module(MODULES[choose("provider", name, list(MODULES))])
    if host is None or host.local:
        return module.PROVIDER
    if not hasattr(module.PROVIDER, "host"):
        raise Unsupported(f"{module.PROVIDER.__class__.__name__} runs lab VMs on this machine only: "
                          f"another host ({host.name}) needs the libvirt provider")
    return module.PROVIDER.__class__(host)


def installed() -> list[str]:
    """The providers whose tool is on PATH (or that a test substituted)."""
    return [name for name in MODULES if name in _substitutes or shutil.which(TOOLS[name])]


@contextlib.contextmanager
def substituted(provider: Provider) -> Iterator[Provider]:
    """Use ``provider`` (a test's fake hypervisor) wherever ``provider.name`` is asked for."""
    _substitutes[provider.name] = provider
    try:
        yield provider
    finally:
        del _substitutes[provider.name]


def select(plat: "Platform") -> str:
    """The provider for ``plat``: ``YARAKASHI_PROVIDER`` if set, else the first of the
    platform's providers that is installed, else its first.

    >>> from yarakashi import catalogue
    >>> select(catalogue.platform("debian12-merged"))
    'libvirt'
    """
    from yarakashi.catalogue import choose

    wanted = os.environ.get("YARAKASHI_PROVIDER")
    if not wanted:
        found = [p for p in plat.providers if p in installed()]
        wanted = (found or list(plat.providers))[0]
    return choose("provider", wanted, plat.providers, f"for platform {plat.name}")
