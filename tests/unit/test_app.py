"""The application layer as a web portal would call it: names resolved once, progress to the
caller's callback, a cancel that removes what was made, one caller per VM at a time."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from yarakashi import YarakashiError, boxes, calls, failures, paths, providers
from yarakashi.app import target, vms
from yarakashi.machine import Machine
from yarakashi.progress import say, wait_until

from .fakes import FakeHypervisor


def test_names_are_resolved_once_at_the_door_into_one_line_errors() -> None:
    t = target.resolve("db-stops-after-reboot", "debian12-merged", trainee="alice", machine="s1")
    assert (t.lab.name, t.platform.name, t.instance, t.machine, t.trainee) == ("apparmor-cache", "debian12-merged", "t-alice", "s1", "alice")
    with pytest.raises(YarakashiError, match=r"^unknown platform 'win95' for lab apparmor-cache; valid platforms: debian12-merged, "):
        target.resolve("apparmor-cache", "win95")
    with pytest.raises(YarakashiError, match=r"^unknown lab 'nope'; valid labs: "):
        target.resolve("nope")


def test_a_second_caller_is_refused_while_one_acts_on_a_vm(monkeypatch, tmp_path) -> None:
    """Two threads of one portal, or the portal and a command line: the second gets one line."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    m = target.machines(target.resolve("rsync-dirlinks", "debian12-merged"))[0]
    with target.hold(m):
        with pytest.raises(target.Busy, match=r"^rsync-dirlinks on debian12-merged \(main\) is busy: pid \d+ acts on it; try again"):
            with target.hold(m):
                pass
        other = target.machines(target.resolve("rsync-dirlinks", "debian11-split"))[0]
        with target.hold(other):  # another VM: no wait
            pass
        lock = next((tmp_path / "locks").iterdir())
        code = (f"import fcntl, os; fd = os.open({str(lock)!r}, os.O_RDWR)\n"
                "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    raise SystemExit(3)")
        assert subprocess.run([sys.executable, "-c", code]).returncode == 3, "another process is kept off too"
    with target.hold(m):  # let go when the first caller ended
        pass


def test_a_followed_operation_reports_to_its_caller_and_a_cancel_removes_what_it_made(monkeypatch, tmp_path, capsys) -> None:
    """lab.up of both offline platforms from a portal: the first VM is made, the caller cancels
    while the second waits; the operation ends at that wait and the first VM is removed."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    monkeypatch.setattr(boxes, "build_ahead", lambda plats: None)
    lines: list[str] = []
    call = calls.Call(report=lines.append)
    acts: list[str] = []

    def up(self: Machine) -> None:
        with failures.step(f"vagrant up of {self.name}"):
            say(f"making {self.platform.name}")
            acts.append(f"up {self.platform.name}")
            if len(acts) == 2:
                call.cancel.set()  # the caller's cancel button, while this VM is being made
                wait_until("SSH", lambda: None, timeout=5, interval=0.01)

    monkeypatch.setattr(Machine, "up", up)
    monkeypatch.setattr(Machine, "up_others", lambda self: [])
    monkeypatch.setattr(Machine, "destroy", lambda self: acts.append(f"destroy {self.platform.name}"))
    with providers.substituted(FakeHypervisor()), calls.following(call):
        with pytest.raises(failures.Cancelled) as ended:
            vms.up(target.resolve("rsync-dirlinks"))
    assert acts == ["up debian11-split", "up debian12-merged", "destroy debian11-split"]
    assert ended.value.line().startswith("interrupted (cancelled) during vagrant up of rsync-dirlinks/debian12-merged (main); "
                                         "cleaned up VM yk-")
    assert lines[:2] == ["making debian11-split", "making debian12-merged"] and "waiting for SSH" in lines[2]
    assert "making" not in capsys.readouterr().err, "a followed operation prints nothing"


def test_a_cancel_is_raised_once_so_that_the_clean_up_runs_to_its_end() -> None:
    call = calls.Call()
    call.cancel.set()
    with calls.following(call):
        with pytest.raises(failures.Cancelled):
            failures.cancel_point()
        failures.cancel_point()  # the clean-up's own steps and waits go on
    failures.cancel_point()  # no caller follows: nothing to cancel


def test_each_thread_reports_to_its_own_caller() -> None:
    """Two operations of a portal at once: neither sees the other's lines."""
    got: dict[str, list[str]] = {"a": [], "b": []}

    def operation(name: str) -> None:
        with calls.following(calls.Call(report=got[name].append)):
            say(f"line of {name}")

    threads = [threading.Thread(target=operation, args=(n,)) for n in got]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert got == {"a": ["line of a"], "b": ["line of b"]}
