"""A lab step runs over one SSH session (no Vagrant run): the lab's files and the trainee's
script go up in one tar stream, run-step.sh runs as root, and how it ended is read from the log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yarakashi import catalogue, failures, paths
from yarakashi.machine import Machine

#: A stand-in ssh: "tar ... -xf -" unpacks stdin into $FAKE_HOME; run-step.sh prints what the
#: real one prints for a fix that failed at line 2, and exits 3.
FAKE_SSH = """#!/bin/bash
cmd="${@: -1}"
echo "$cmd" >> "$FAKE_HOME/commands"
case $cmd in
  *"tar --no-same-owner"*) tar -C "$FAKE_HOME" -xf - ;;
  *run-step.sh*) echo "deploying"; echo "[yarakashi] step fix exited 3 (last failed command: line 2: false (exit 3))"; exit 3 ;;
esac
"""


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ssh").write_text(FAKE_SSH)
    (bindir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    fix = tmp_path / "my-fix.sh"
    fix.write_text("#!/bin/bash\nfalse\n")
    m = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "unit", {"fix": fix})
    m.bounds["fix"] = 60
    return m


def test_a_step_uploads_once_runs_as_root_and_reports_how_it_ended(machine: Machine, tmp_path: Path) -> None:
    ended = machine.steps.run("fix", check=False)
    assert (ended.exit_code, ended.last_failed) == (3, "line 2: false (exit 3)")
    assert ended.describe() == "fix exited 3; last failed command: line 2: false (exit 3)"
    home = tmp_path / "home"
    assert (home / "yarakashi" / "common" / "run-step.sh").is_file()  # provisioning/, as the guest's lab dir
    assert (home / "yarakashi-steps" / "fix").read_text() == "#!/bin/bash\nfalse\n"  # the trainee's script
    assert (home / "yarakashi" / "rsync-dirlinks" / "isucon10-final" / "s1").is_dir()  # the team's repository: data, not an answer
    sent = {p.relative_to(home / "yarakashi").as_posix() for p in (home / "yarakashi").rglob("*.sh")}
    assert not sent & {"rsync-dirlinks/deploy-fixed.sh", "rsync-dirlinks/deploy-naive.sh", "rsync-dirlinks/verify.sh",
                       "apparmor-cache/fix.sh", "memory-engine/fix.sh", "host/setup.sh"}, "no other step's script goes up"
    assert sorted(p.name for p in (home / "yarakashi").iterdir()) == ["common", "rsync-dirlinks"], "no other lab's files"
    upload, step = (home / "commands").read_text().splitlines()
    assert upload == "mkdir -p /home/vagrant && tar --no-same-owner -C /home/vagrant -xf -"
    assert step.startswith("sudo -n env YK_LAB_DIR=/home/vagrant/yarakashi YK_LAB=rsync-dirlinks ")
    assert step.endswith("bash /home/vagrant/yarakashi/common/run-step.sh fix /home/vagrant/yarakashi-steps/fix 60"
                         "; rc=$?; sudo -n rm -rf /home/vagrant/yarakashi /home/vagrant/yarakashi-steps/fix; exit $rc")  # gone once it ran
    assert "    default: deploying\n" in machine.log.read_text()  # the guest's output, logged as Vagrant logs it


def test_a_failed_step_is_one_line_when_it_must_succeed(machine: Machine) -> None:
    with pytest.raises(failures.ToolFailed, match=r"^fix of rsync-dirlinks/debian12-merged \(unit\) failed: .*exited 3"):
        machine.steps.run("fix", check=True)


def test_verify_uploads_its_own_script_in_the_new_session_and_removes_it(machine: Machine, tmp_path: Path) -> None:
    checks = machine.steps.verify(wait=5)
    home = tmp_path / "home"
    assert (home / "yarakashi" / "rsync-dirlinks" / "verify.sh").is_file()
    assert not (home / "yarakashi" / "rsync-dirlinks" / "deploy-fixed.sh").exists()
    assert not (home / "yarakashi" / "apparmor-cache").exists()
    upload, run = (home / "commands").read_text().splitlines()
    assert upload.endswith("tar --no-same-owner -C /home/vagrant -xf -")
    assert run.endswith("bash /home/vagrant/yarakashi/rsync-dirlinks/verify.sh"
                        "; rc=$?; sudo -n rm -rf /home/vagrant/yarakashi; exit $rc")
    assert [c.name for c in checks] == ["verify script"]  # the stand-in printed no checks


def test_verify_on_a_guest_that_opens_no_session_is_that_check(machine: Machine, tmp_path: Path) -> None:
    (tmp_path / "bin" / "ssh").write_text("#!/bin/bash\necho 'Connection closed by 192.168.121.9 port 22' >&2\nexit 255\n")
    [check] = machine.steps.verify(wait=5)
    assert (check.name, check.passed) == ("new SSH session", False)
    assert "Connection closed by 192.168.121.9 port 22" in check.observed
