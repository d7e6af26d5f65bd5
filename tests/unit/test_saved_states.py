"""Saved states: the running guest is saved with its memory and resumed on the same boot, its
clock set to the host's; a guest that comes back on another boot is an error, not a state."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.fakes import FakeHypervisor
from yarakashi import catalogue, failures, paths
from yarakashi.machine import Machine


def machine(monkeypatch: pytest.MonkeyPatch, tmp_path, boots: list[str]) -> tuple[Machine, FakeHypervisor, list[str]]:
    monkeypatch.setattr(paths, "WORK", tmp_path)
    monkeypatch.setattr(paths, "STATE", tmp_path / "state")
    hv = FakeHypervisor()
    m = Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "unit", hypervisor=hv)
    answers = iter(boots)
    monkeypatch.setattr(m.guest, "boot_id", lambda connect_timeout=15: next(answers))
    monkeypatch.setattr(m, "exists", lambda: True)
    sent: list[str] = []
    monkeypatch.setattr(m.guest, "ssh", lambda command, timeout=120: sent.append(command) or subprocess.CompletedProcess([], 0, "", ""))
    return m, hv, sent


def test_a_state_resumes_on_the_boot_it_was_saved_on_with_the_hosts_clock(monkeypatch, tmp_path) -> None:
    m, hv, sent = machine(monkeypatch, tmp_path, ["b1", "b1"])
    m.states.save("before-fix")
    assert m.states.return_to("before-fix") == "b1"
    assert hv.acts == [("snapshot", "before-fix"), ("restore", "before-fix")]
    assert [c.split("@")[0] for c in sent] == ["sudo -n date -u -s "]


def test_a_guest_back_on_another_boot_is_not_the_saved_state(monkeypatch, tmp_path) -> None:
    m, _, _ = machine(monkeypatch, tmp_path, ["b1", "b2"])
    m.states.save("before-fix")
    with pytest.raises(failures.ToolFailed, match="on boot b2, not the saved boot b1"):
        m.states.return_to("before-fix")


def test_a_labs_machines_reboot_together_and_a_reboot_that_did_not_happen_is_an_error(monkeypatch) -> None:
    import threading

    from yarakashi import failures, machine

    both = threading.Barrier(2, timeout=5)  # broken unless the two reboots run at the same time

    class Fake:
        def __init__(self, domain: str, new: str) -> None:
            self.domain, self.new = domain, new
            self.guest = self  # its boot id, as a Machine's guest answers it

        def boot_id(self) -> str:
            return "old"

        def reboot(self) -> str:
            if self.new != "old":
                both.wait()
            return self.new

    introduced: list[list[str]] = []
    monkeypatch.setattr(machine, "introduce", lambda ms: introduced.append([m.domain for m in ms]))
    s2, s1 = Fake("s2", "b2"), Fake("s1", "b1")
    assert machine.reboot_together([s2, s1]) == ["b2", "b1"]
    assert introduced == [["s2", "s1"]]  # at once (the barrier), then named again
    with pytest.raises(failures.ToolFailed, match=r"^s1 came back on the same boot \(old\): no real reboot$"):
        machine.reboot_together([Fake("s1", "old")])


def test_each_machine_of_a_lab_keeps_its_own_record_of_a_state(monkeypatch, tmp_path) -> None:
    """s2 and s1 share a work directory: s1's save overwrote s2's record, and lab.reset of s2 then
    expected s1's boot ("came back ... on boot e3593da8, not the saved boot d32cff0d")."""
    s2, _, _ = machine(monkeypatch, tmp_path, ["s2-boot", "s2-boot"])
    s1 = s2.others()[0]
    answers = iter(["s1-boot", "s1-boot"])
    monkeypatch.setattr(s1.guest, "boot_id", lambda connect_timeout=15: next(answers))
    monkeypatch.setattr(s1, "exists", lambda: True)
    monkeypatch.setattr(s1.guest, "ssh", lambda command, timeout=120: subprocess.CompletedProcess([], 0, "", ""))
    s2.states.save("start")
    s1.states.save("start")
    assert s2.states.get("start")["boot"] == "s2-boot" and s1.states.get("start")["boot"] == "s1-boot"
    assert s2.states.return_to("start") == "s2-boot" and s1.states.return_to("start") == "s1-boot"
