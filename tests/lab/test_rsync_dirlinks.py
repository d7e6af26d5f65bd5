"""rsync-dirlinks on real VMs: the team's `make deploy` (`sudo rsync -v -r s1/ /`) is harmless on
split /usr, fatal on merged /usr with the post's output, a root shell that was already open
recovers that server, and `rsync -K` keeps /lib a symlink, also after a real reboot. Three VMs:
split, merged (broken, then recovered), merged with the fixed deploy.

The deploy under test is the lab's ``break``/``fix`` script; another project's deploy can be
checked with ``YK_FIX_SCRIPT=path/to/deploy.sh invoke lab.test rsync-dirlinks``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from yarakashi import evidence
from yarakashi.machine import Machine
from yarakashi.steps import StepRun
from yarakashi.progress import say

from .conftest import running_vm

LAB = "rsync-dirlinks"
UNIT = "systemd/system/mysql.service"


#: The post's lines of `make deploy` on Ubuntu 20.04 that this lab's output must show too.
SKIPPED_SYMLINK = 'skipping non-regular file "etc/mysql/my.cnf"'
#: The lone line the post's author later spotted: rsync made a directory /lib.
LONE_LIB = "lib/"


def lines_of(ended: StepRun) -> list[str]:
    """What a step printed, a line each (as the post quotes make's output)."""
    return ended.output.splitlines()


def test_naive_deploy_is_harmless_on_split_usr(fresh_vm) -> None:
    vm = fresh_vm(LAB, "debian11-split", "naive")
    assert vm.steps.run("prepare")
    assert vm.guest.testinfra().file("/lib").is_directory and not vm.guest.testinfra().file("/lib").is_symlink
    ended = vm.steps.run("break")
    assert ended, ended.describe()
    lines = lines_of(ended)
    assert "sudo rsync -v -r s1/ /" in lines and SKIPPED_SYMLINK in lines
    assert "lib/systemd/system/mysql.service" in lines
    assert LONE_LIB not in lines, "on split /usr /lib exists as a directory: rsync creates nothing there"
    assert "deploy.sh: units reloaded" in lines
    host = vm.guest.testinfra()
    assert host.file("/lib").is_directory and not host.file("/lib").is_symlink
    assert host.file(f"/lib/{UNIT}").is_file
    assert host.run("ls /").rc == 0
    assert host.file("/lib/x86_64-linux-gnu").is_directory
    assert vm.guest.ssh("true").returncode == 0, "a new SSH session must still work"


def test_naive_deploy_breaks_merged_usr_and_a_root_shell_already_open_recovers_it(fresh_vm) -> None:
    """The post's `make deploy` on merged /usr, with its lines; then the recovery the lab teaches,
    on the same VM: the libraries are still in /usr/lib, only the way to them is gone; the
    dynamic loader, run by its real path with the library path given, can still start mv and ln.
    Then a new SSH session works again, without the organisers."""
    vm = fresh_vm(LAB, "debian12-merged", "naive")
    assert vm.steps.run("prepare")
    assert vm.guest.testinfra().file("/lib").linked_to == "/usr/lib"
    shell = vm.guest.pinned_shell()  # opened before the break: the only way to look, and to repair, afterwards
    try:
        ended = vm.steps.run("break", check=False)
        _, kind = shell.run("if [ -L /lib ]; then echo symlink; elif [ -d /lib ]; then echo directory; fi")
        _, listing = shell.run("echo /lib/*")
        ls_rc, ls_out = shell.run("/usr/bin/ls /")
        _, still = shell.run("echo builtins still work")
        new_session = vm.guest.ssh("true", timeout=60)
        lines = lines_of(ended)
        say("`make deploy` on merged /usr, beside the post (Ubuntu 20.04):\n"
            + "\n".join(f"  {line}" for line in lines))
        assert "sudo rsync -v -r s1/ /" in lines and SKIPPED_SYMLINK in lines
        assert LONE_LIB in lines, "rsync must list the /lib it created"
        assert "sh s1/deploy.sh" in lines
        assert any(line.startswith("make: sh: ") for line in lines), "make cannot start sh"
        assert any(line.startswith("make: *** [Makefile:") and line.endswith("start] Error 127") for line in lines)
        assert ended.exit_code == 2, ended.describe()
        say("what a team sees after `make deploy` on merged /usr:\n"
            f"  /lib is now: {kind}; it holds: {listing}\n"
            f"  $ ls /   ->  exit {ls_rc}: {ls_out}\n"
            f"  new ssh session -> exit {new_session.returncode}: {new_session.stderr.strip() or '(closed)'}")
        assert kind == "directory"
        assert listing == "/lib/systemd"
        assert ls_rc == 127
        assert "required file not found" in ls_out or "No such file or directory" in ls_out
        assert still == "builtins still work"
        assert new_session.returncode == 255, new_session
        rc, out = shell.run(RECOVERY)
        assert rc == 0, out
    finally:
        shell.close()
    assert vm.guest.ssh("true", timeout=60).returncode == 0, "a new SSH session must work again"
    host = vm.guest.testinfra()
    assert host.file("/lib").linked_to == "/usr/lib"
    assert host.file("/lib.deployed/systemd/system/mysql.service").is_file, "what rsync made is kept aside"
    assert host.run("ls /").rc == 0
    # What a FAIL's evidence reads when no session opens: the disk, from the host, after a hard stop.
    stat = evidence.stat_offline(vm, "/lib.deployed")
    assert "Type: directory" in stat, stat


@pytest.fixture(scope="module")
def fixed_vm() -> Iterator[Machine]:
    """A fresh merged-/usr VM with the team's repository, deployed with the fixed script (the
    Makefile's rsync with -K) or YK_FIX_SCRIPT."""
    with running_vm(LAB, "debian12-merged", "fixed") as vm:
        assert vm.steps.run("prepare")
        ours = not os.environ.get("YK_FIX_SCRIPT")
        if not ours:
            vm.scripts["fix"] = Path(os.environ["YK_FIX_SCRIPT"])
        ended = vm.steps.run("fix")
        assert ended, ended.describe()
        if ours:
            assert "sudo rsync -K -v -r s1/ /" in lines_of(ended) and LONE_LIB not in lines_of(ended)
        yield vm


def assert_deploy_is_safe(vm: Machine) -> None:
    host = vm.guest.testinfra()
    assert host.file("/lib").is_symlink and host.file("/lib").linked_to == "/usr/lib"
    assert host.file(f"/usr/lib/{UNIT}").is_file
    assert host.run("ls /").rc == 0
    assert vm.guest.ssh("true").returncode == 0


def test_fixed_deploy_keeps_lib_a_symlink(fixed_vm: Machine) -> None:
    assert_deploy_is_safe(fixed_vm)


def test_fixed_deploy_survives_a_real_reboot(fixed_vm: Machine) -> None:
    before = fixed_vm.guest.boot_id()
    after = fixed_vm.reboot()
    assert before and after != before
    assert_deploy_is_safe(fixed_vm)
    assert fixed_vm.guest.ssh("systemctl is-system-running --wait", timeout=300).stdout.strip() == "running"


def test_lab_network_lives_only_in_the_namespace(fixed_vm: Machine, lab_session) -> None:
    from yarakashi import labnet

    from .conftest import main_namespace_links

    assert labnet.in_namespace(), "libvirtd must run in the lab's network namespace here"
    guest_ip = fixed_vm.address()
    main = main_namespace_links()
    assert set(main) == set(lab_session), "no bridge or tap may appear in the main namespace"
    assert not any(a.startswith(guest_ip.rsplit(".", 1)[0] + ".") for addrs in main.values() for a in addrs)
    assert fixed_vm.guest.ssh("ip -4 route show default").stdout.strip() == "", "guests get no default route"


#: The recovery from a root shell opened before the deploy (labs/rsync-dirlinks/README.md).
RECOVERY = """L=/usr/lib/x86_64-linux-gnu
$L/ld-linux-x86-64.so.2 --library-path $L /usr/bin/mv /lib /lib.deployed &&
$L/ld-linux-x86-64.so.2 --library-path $L /usr/bin/ln -s usr/lib /lib"""
