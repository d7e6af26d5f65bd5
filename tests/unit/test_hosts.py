"""A lab on another libvirt host (``lab.start --host``), without one: the URI is checked, shapes the
Vagrantfile and the guests' SSH proxy, is recorded and followed by every later command; a VM
there takes no place among this machine's guests; a libvirtd in another namespace is not ours."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from yarakashi import capacity, catalogue, cli, failures, hosts, labnet, paths, providers, vagrantfile
from yarakashi.app import vms
from yarakashi.machine import Machine

from .fakes import FakeHypervisor

WS2 = "qemu+ssh://root@ws2.example:2222/system?keyfile=/root/.ssh/ws2"


@pytest.mark.parametrize("text", [
    "http://ws2/", "qemu+ssh://ws2/session", "qemu+ssh:///system", "qemu+tcp://ws2/system", "qemu+ssh://ws2:22x/system",
    'qemu+ssh://ws2/system?keyfile=/a"b', "qemu+ssh://ws2/system?keyfile=/a b", "qemu+ssh://ws2/system#x",
])
def test_a_host_that_is_not_a_qemu_ssh_uri_is_one_clear_line(text: str) -> None:
    with pytest.raises(hosts.YarakashiError, match=r"^--host must be this machine \(qemu:///system\) or a libvirt URI"):
        hosts.parse(text)


def test_an_unknown_uri_parameter_names_the_ones_libvirt_takes() -> None:
    with pytest.raises(hosts.YarakashiError, match="unknown parameter 'sshauth'; libvirt's ssh transport takes keyfile, "):
        hosts.parse("qemu+ssh://ws2/system?sshauth=agent")


def test_the_guests_proxy_goes_through_the_host_as_libvirt_does() -> None:
    """The URI's user, port, key, host-key policy and ssh command shape the guests' ProxyCommand too."""
    assert hosts.parse("qemu+ssh://ws2/system").proxy_command() == "ssh -o BatchMode=yes -W %h:%p ws2"
    wrapped = hosts.parse("qemu+ssh://admin@ws3/system?command=/opt/ssh-wrap&no_verify=1")
    assert wrapped.proxy_command() == "/opt/ssh-wrap -o BatchMode=yes -l admin -o StrictHostKeyChecking=no -W %h:%p ws3"
    assert wrapped.name == "ws3" and wrapped.libvirt_uri() == wrapped.uri
    assert hosts.parse(None) == hosts.parse("qemu:///system") == hosts.Host()
    assert hosts.Host().libvirt_uri() == "qemu:///system"


def test_the_vagrantfile_of_a_remote_lab_names_the_uri_and_passes_vagrant_validate(tmp_path, vboxmanage) -> None:
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    host = hosts.parse(WS2)
    text = vagrantfile.render(lab, plat, "t-carol", proxy_command=host.proxy_command(), provider_name="libvirt", host=host)
    assert f'lv.uri = "{WS2}"' in text
    assert 'config.ssh.proxy_command = "ssh -o BatchMode=yes -p 2222 -l root -i /root/.ssh/ws2 -W %h:%p ws2.example"' in text
    for guest in ("default", "s1"):  # serial consoles written on that host, in libvirt's own log directory
        assert f'{vagrantfile.REMOTE_SERIAL_DIR}/{vagrantfile.prefix(lab, plat, "t-carol")}{guest}-serial.log' in text
    assert str(vagrantfile.SERIAL_DIR) not in text
    (tmp_path / "Vagrantfile").write_text(text)
    vagrantfile.validate(tmp_path, "libvirt", vboxmanage)
    assert "lv.uri" not in vagrantfile.render(lab, plat, "main", provider_name="libvirt")


def test_the_host_is_recorded_and_every_later_machine_follows_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(paths, "WORK", tmp_path)
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    placed = Machine(lab, plat, "t-carol", hypervisor=FakeHypervisor(), host=hosts.parse(WS2))
    placed.render()
    later = Machine(lab, plat, "t-carol")  # lab.reset, lab.status, lab.destroy: no --host
    assert later.runs_on.uri == WS2 and later.hv.host.uri == WS2
    assert [o.runs_on.uri for o in later.others()] == [WS2], "s1 runs beside s2"
    assert later.serial_log is None and later.console_size() == 0, "the console file is on that host"
    assert Machine(lab, plat, "t-dave").runs_on.local, "another trainee's lab stays here"
    Machine(lab, plat, "t-carol", hypervisor=FakeHypervisor(), host=hosts.Host()).render()
    assert Machine(lab, plat, "t-carol").runs_on.local, "placed back here: the record goes"


def test_a_vm_on_another_host_takes_no_place_among_this_machines_guests(tmp_path, monkeypatch) -> None:
    """This machine's cap counts its own guests; a full machine does not hold up a lab placed elsewhere."""
    monkeypatch.setattr(paths, "STATE", tmp_path)
    monkeypatch.setenv("YARAKASHI_MAX_GUESTS", "1")
    lab, plat = catalogue.lab("memory-engine"), catalogue.platform("debian12-merged")
    full = FakeHypervisor(names=["yk-other-guest"])
    monkeypatch.setattr(full, "running", lambda prefix: ["yk-other-guest"], raising=False)
    remote = Machine(lab, plat, "t-carol", hypervisor=full, host=hosts.parse("qemu+ssh://ws2/system"))
    with remote._place():
        assert not capacity.being_made()
    here = Machine(lab, plat, "t-dave", hypervisor=full)
    with pytest.raises(hosts.YarakashiError, match="no place for"):
        with capacity.place(here.domain, lambda: ["yk-other-guest"], wait=0):
            pass


def test_virtualbox_cannot_place_a_lab_on_another_host() -> None:
    with pytest.raises(providers.Unsupported, match="needs the libvirt provider"):
        providers.get("virtualbox", hosts.parse("qemu+ssh://ws2/system"))


def test_a_libvirtd_in_another_namespace_is_neither_reused_nor_a_reason_to_start_none(monkeypatch) -> None:
    """Seen in this project: a second libvirt host's libvirtd (its own namespaces) running, ours not
    yet: labnet took it for the host's, waited on a socket it never made, and the box build failed."""
    monkeypatch.setattr(labnet, "_pids", lambda name: [4242])
    monkeypatch.setattr(labnet, "_ns_of", lambda pid: "yk-h2-abc123")
    assert not labnet._hosts_own() and not labnet.in_namespace()
    assert labnet.mode() == "down"
    monkeypatch.setattr(labnet, "_ns_of", lambda pid: "")
    assert labnet._hosts_own() and labnet.mode() == "libvirtd of the host (no namespace)"


def test_lab_start_with_a_bad_host_is_one_line_and_makes_nothing(tmp_path) -> None:
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, "-m", "invoke", "lab.start", "memory-engine", "--host", "ws2.example"],
                          cwd=paths.REPO, env={**os.environ, "YARAKASHI_WORK": str(work)}, capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --host must be this machine (qemu:///system) or a libvirt URI qemu+ssh://[USER@]HOST[:PORT]/system, not 'ws2.example'"]
    assert not work.exists()


def test_the_facilitators_view_names_each_labs_host_and_its_other_machines(tmp_path, monkeypatch) -> None:
    """lab.status: a row per VM with where it runs; apparmor-cache's s1 on a row of its own."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    monkeypatch.setattr(labnet, "mode", lambda: "down")
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    for instance, host in (("main", hosts.Host()), ("t-carol", hosts.parse(WS2))):
        Machine(lab, plat, instance, hypervisor=FakeHypervisor(), host=host).render()
    made = {("main", "default"), ("main", "s1"), ("t-carol", "default")}
    monkeypatch.setattr(Machine, "exists", lambda self: (self.instance, self.vm) in made)
    monkeypatch.setattr(Machine, "state", lambda self: "running")
    rows = cli.status().splitlines()
    assert rows[0].split() == ["LAB", "PLATFORM", "INSTANCE", "HOST", "STATE"]
    assert [r.split() for r in rows[1:]] == [
        ["apparmor-cache", "debian12-merged", "main", "this", "machine", "running"],
        ["apparmor-cache", "debian12-merged", "main", "(s1)", "this", "machine", "running"],
        ["apparmor-cache", "debian12-merged", "t-carol", "ws2.example", "running"],
        ["lab", "network:", "down"]]


def test_a_host_that_does_not_answer_leaves_its_lab_but_not_the_others(tmp_path, monkeypatch) -> None:
    """lab.destroy goes on with the labs it can reach, keeps the unreachable one's work directory
    (its record of where the VM is), and ends with one line naming it."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    for instance, host in (("t-carol", hosts.parse(WS2)), ("t-dave", hosts.Host())):
        Machine(lab, plat, instance, hypervisor=FakeHypervisor(), host=host).render()
    gone: list[str] = []

    def destroy(self: Machine) -> None:
        if not self.runs_on.local:
            raise failures.ToolFailed(f"the libvirt host {self.runs_on.uri} does not answer: ssh: connect to host ws2.example port 2222: No route to host")
        gone.append(self.instance)

    monkeypatch.setattr(Machine, "destroy", destroy)
    with pytest.raises(failures.ToolFailed, match=r"^1 lab VMs on other hosts could not be removed: yk-\w+-apparmor-cache-debian12-merged-t-carol-default \(ws2.example\); their work directories are kept"):
        vms.destroy(lab)
    assert gone == ["t-dave"]
    assert hosts.recorded(tmp_path / "apparmor-cache" / "debian12-merged-t-carol").uri == WS2


def test_no_attribute_of_a_machine_hides_one_of_its_methods(tmp_path, monkeypatch) -> None:
    """An attribute ``host`` (where the VM runs) once hid the method ``host()`` (its testinfra
    host), and every rsync-dirlinks story test failed. Now ``runs_on`` and ``guest.testinfra()``."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    m = Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "t-carol", host=hosts.parse(WS2))
    assert [name for name in vars(m) if callable(getattr(type(m), name, None))] == []
    assert m.runs_on.name == "ws2.example" and callable(m.guest.testinfra)


def test_a_vm_made_without_host_goes_where_yarakashi_host_says_and_then_follows_its_record(tmp_path, monkeypatch) -> None:
    """A lane of ``./run test --host`` sets ``YARAKASHI_HOST``; a VM's record outlives a change of it."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    lab, plat = catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged")
    monkeypatch.setenv(hosts.ENV, WS2)
    placed = Machine(lab, plat, "test-placed", hypervisor=FakeHypervisor())
    assert placed.runs_on == hosts.parse(WS2)
    placed.render()
    here = Machine(lab, plat, "main", hypervisor=FakeHypervisor(), host=hosts.Host())
    here.render()
    monkeypatch.delenv(hosts.ENV)
    assert Machine(lab, plat, "test-placed", hypervisor=FakeHypervisor()).runs_on.uri == WS2
    monkeypatch.setenv(hosts.ENV, "qemu+ssh://ws9/system")
    assert Machine(lab, plat, "main", hypervisor=FakeHypervisor()).runs_on.local, "recorded here: stays here"
    monkeypatch.setenv(hosts.ENV, "ws9")
    with pytest.raises(hosts.YarakashiError, match=r"^YARAKASHI_HOST: --host must be this machine"):
        Machine(lab, plat, "new", hypervisor=FakeHypervisor())
