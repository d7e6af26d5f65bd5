"""The provider seam: every hypervisor act goes through one module per provider."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from yarakashi import model, providers


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-ins for VBoxManage and virsh that log their arguments (and list two VMs)."""
    calls = tmp_path / "calls.log"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    listing = '"yk-ab12cd-rsync-dirlinks-ubuntu-20.04-main-default" {0b5e}\\n"someone-elses" {11aa}\\n'
    for tool in ("VBoxManage", "virsh"):
        (bindir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n'
                                   f'case "$*" in "list vms"|"list runningvms") printf \'{listing}\';; esac\n')
        (bindir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return calls


def vm(name: str) -> SimpleNamespace:
    return SimpleNamespace(domain=name, workdir=Path("/nonexistent"), vagrant=None)


def test_an_unknown_provider_names_the_valid_ones() -> None:
    with pytest.raises(model.UnknownName, match="unknown provider 'hyperv'; valid providers: libvirt, virtualbox"):
        providers.get("hyperv")


def test_virtualbox_lists_stops_and_sweeps_by_prefix(recorded: Path) -> None:
    vbox = providers.get("virtualbox")
    assert vbox.vms("yk-ab12cd-") == ["yk-ab12cd-rsync-dirlinks-ubuntu-20.04-main-default"]
    vbox.hard_stop(vm("yk-ab12cd-rsync-dirlinks-ubuntu-20.04-main-default"))
    assert vbox.sweep("yk-ab12cd-") == ["yk-ab12cd-rsync-dirlinks-ubuntu-20.04-main-default"]
    name = "yk-ab12cd-rsync-dirlinks-ubuntu-20.04-main-default"
    assert recorded.read_text().splitlines() == [
        "VBoxManage list vms", "VBoxManage list runningvms", f"VBoxManage controlvm {name} poweroff",
        "VBoxManage list vms", f"VBoxManage controlvm {name} poweroff", f"VBoxManage unregistervm {name} --delete"]


def test_virtualbox_says_what_it_cannot_do() -> None:
    with pytest.raises(providers.Unsupported, match="SysRq keys on the console need the libvirt provider"):
        providers.get("virtualbox").sysrq(vm("x"), "f")


def test_snapshots_on_both_providers(recorded: Path) -> None:
    for name in ("libvirt", "virtualbox"):
        hv = providers.get(name)
        hv.snapshot(vm("yk-x-default"), "broken")
        hv.restore(vm("yk-x-default"), "broken")
        hv.forget(vm("yk-x-default"), "broken")
    lines = recorded.read_text().splitlines()
    assert [line for line in lines if "snapshot" in line] == [
        "virsh -q -c qemu:///system snapshot-create-as yk-x-default broken --atomic",
        "virsh -q -c qemu:///system snapshot-revert yk-x-default broken",
        "virsh -q -c qemu:///system snapshot-delete yk-x-default broken",
        "VBoxManage snapshot yk-x-default take broken --live",
        "VBoxManage snapshot yk-x-default restore broken",
        "VBoxManage snapshot yk-x-default delete broken",
    ]


def test_a_destroyed_libvirt_vm_leaves_the_shared_network_to_the_lab_network(tmp_path: Path) -> None:
    """vagrant-libvirt would remove the network with the VM that created it, under another
    VM that is about to start (a race seen in a suite run): the record of it goes first."""
    record = tmp_path / ".vagrant" / "machines" / "default" / "libvirt" / "created_networks"
    record.parent.mkdir(parents=True)
    record.write_text("0b5e1c7e-0000-0000-0000-000000000000\n")
    providers.get("libvirt").before_destroy(SimpleNamespace(domain="yk-x-default", workdir=tmp_path, vagrant=None))
    assert not record.exists()
