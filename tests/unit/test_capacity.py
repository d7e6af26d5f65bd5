"""The cap on lab guests: a VM is made only when a place is free on the host; the wait says who
holds the places, and ends in one clear line; places of dead makers do not count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.unit.test_boot_wait import Clock
from yarakashi import YarakashiError, capacity, labnet, paths, progress


@pytest.fixture(autouse=True)
def state(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "STATE", tmp_path)
    monkeypatch.setattr(progress, "time", Clock())
    monkeypatch.delenv("YARAKASHI_MAX_GUESTS", raising=False)


def test_a_free_place_is_held_while_the_vm_is_made() -> None:
    with capacity.place("yk-a-x-default", lambda: ["yk-b-y-default"], limit=2):
        assert (capacity.places() / "yk-a-x-default").is_file()
    assert not (capacity.places() / "yk-a-x-default").exists()


def test_a_full_host_waits_until_a_guest_goes_and_says_who_holds_the_places(capsys) -> None:
    looks = iter([["g1", "g2"], ["g1", "g2"], ["g1"]])
    with capacity.place("yk-a-x-default", lambda: next(looks), limit=2):
        pass
    err = capsys.readouterr().err
    assert "yk-a-x-default waits for a place: 2 of 2 places taken (g1, g2)" in err
    assert "a place for yk-a-x-default: after" in err


def test_a_host_that_stays_full_fails_in_one_line_and_leaves_no_place() -> None:
    with pytest.raises(YarakashiError, match=r"no place for yk-a-x-default after 60 s: 1 of 1 places taken \(g1\); remove a lab VM"):
        with capacity.place("yk-a-x-default", lambda: ["g1"], limit=1, wait=60):
            pass
    assert [p.name for p in capacity.places().iterdir()] == [".lock"]


def test_a_place_left_by_a_dead_process_is_not_counted() -> None:
    pid = subprocess.Popen(["true"])
    pid.wait()
    capacity.places().mkdir(parents=True)
    (capacity.places() / "yk-gone-default").write_text(str(pid.pid))
    with capacity.place("yk-a-x-default", lambda: [], limit=1):
        pass
    assert not (capacity.places() / "yk-gone-default").exists()


def test_the_cap_can_be_set_and_a_bad_one_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("YARAKASHI_MAX_GUESTS", "6")
    assert capacity.cap() == 6
    monkeypatch.setenv("YARAKASHI_MAX_GUESTS", "many")
    with pytest.raises(YarakashiError, match="YARAKASHI_MAX_GUESTS must be a whole number of guests, at least 1, not 'many'"):
        capacity.cap()


def test_the_lab_network_stays_up_while_another_process_makes_a_vm(monkeypatch, tmp_path, capsys) -> None:
    """One checkout's ``lab.destroy all`` (no VM of its own left) ran while another's ``vagrant
    up`` was defining its domain: libvirtd went, and that definition failed (``End of file while
    reading data``). A VM being made holds a place; the network stays up for it."""
    torn = []
    monkeypatch.setattr(labnet, "LOCK", tmp_path / "labnet.lock")
    monkeypatch.setattr(labnet, "_teardown", lambda: torn.append(True))
    maker = subprocess.Popen(["sleep", "30"])
    try:
        capacity.places().mkdir(parents=True)
        (capacity.places() / "yk-other-x-default").write_text(str(maker.pid))
        assert labnet.teardown() is False
        assert not torn
        assert "the lab network stays up: 1 lab VMs being made (yk-other-x-default)" in capsys.readouterr().err
    finally:
        maker.kill()
        maker.wait()
    assert labnet.teardown() is True
    assert torn == [True]


@pytest.mark.parametrize("state, expected", [
    ("missing", ["net-info", "net-define", "net-info", "net-start"]),
    ("inactive", ["net-info", "net-info", "net-start"]),
    ("active", ["net-info", "net-info"]),
])
def test_the_guests_network_is_made_before_any_vagrant_up(monkeypatch, state, expected) -> None:
    """Two ``vagrant up`` at once both set up vagrant-libvirt's network (its lock is per process):
    "network is already active", then the failed one removed it from under the other. labnet
    makes it first, under its own lock, so vagrant-libvirt finds it made and active."""
    calls: list[str] = []
    defined: list[str] = []

    def virsh(*args: str, check: bool = True, uri: str = labnet.URI) -> subprocess.CompletedProcess[str]:
        calls.append(args[0])
        if args[0] == "net-define":
            defined.append(Path(args[1]).read_text())
        if args[0] == "net-info" and state == "missing" and not defined:
            return subprocess.CompletedProcess(args, 1, "", "error: network not found")
        active = "yes" if state == "active" else "no"
        return subprocess.CompletedProcess(args, 0, f"Name:           vagrant-libvirt\nActive:         {active}\n", "")

    monkeypatch.setattr(labnet, "virsh", virsh)
    labnet._ensure_network()
    assert calls == expected
    if defined:
        assert "<name>vagrant-libvirt</name>" in defined[0] and 'address="192.168.121.1"' in defined[0]
        assert "<forward" not in defined[0], "the lab network forwards nothing"
