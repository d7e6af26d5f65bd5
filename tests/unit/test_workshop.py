"""Workshop mode without VMs: lab.start runs the lab's start steps and saves the state, prints the
brief and the clock; lab.hint counts and leads; lab.reset resumes the state; ja under a Japanese
locale; the briefs give away neither cause nor fix."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from yarakashi import YarakashiError, catalogue, paths, states, steps, workshop
from yarakashi.machine import Machine

from .fakes import FakeHypervisor


@pytest.fixture
def vm(monkeypatch, tmp_path) -> tuple[Machine, list[str]]:
    """apparmor-cache's s2 with its s1, every act on either recorded (``app@s1``: on s1)."""
    monkeypatch.setattr(paths, "WORK", tmp_path)
    acts: list[str] = []
    made = {"up": False}

    def at(m: Machine) -> str:
        return "" if m.vm == "default" else f"@{m.vm}"

    monkeypatch.setattr(Machine, "destroy", lambda self: acts.append("destroy") or made.update(up=False))
    monkeypatch.setattr(Machine, "up", lambda self: acts.append("up" + at(self)) or self.workdir.mkdir(parents=True, exist_ok=True)
                        or made.update(up=True))
    monkeypatch.setattr(Machine, "exists", lambda self: made["up"])
    monkeypatch.setattr(steps.Runner, "run", lambda self, step, check=True: acts.append(step + at(self.m)))
    monkeypatch.setattr(Machine, "reboot", lambda self: acts.append("reboot" + at(self)))
    monkeypatch.setattr(states.Saved, "save", lambda self, name, key="": acts.append(f"save:{name}{at(self.m)}"))
    monkeypatch.setattr(states.Saved, "get", lambda self, name: {"saved": "-"} if f"save:{name}{at(self.m)}" in acts else None)
    monkeypatch.setattr(states.Saved, "return_to", lambda self, name: acts.append(f"return:{name}{at(self.m)}"))
    def up_others(self: Machine) -> list[Machine]:
        others = self.others()
        for other in others:
            other.up()
        acts.append("introduce:" + ",".join(one.vm for one in [self, *others]))
        return others

    monkeypatch.setattr(Machine, "up_others", up_others)
    monkeypatch.setattr(workshop, "reboot_together", lambda every: acts.append("reboot:" + ",".join(m.vm for m in every)))
    monkeypatch.setattr(workshop, "team_servers", lambda every, keys=(): acts.append("team:" + ",".join(m.vm for m in every)))
    m = Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), hypervisor=FakeHypervisor())
    return m, acts


#: What lab.start does to apparmor-cache: s2 and s1 up and named, s2 prepared and broken, the
#: team's app on s1, both rebooted at once, both saved.
BEFORE_REBOOT = ["destroy", "up", "up@s1", "introduce:default,s1", "prepare", "break", "app@s1"]
AFTER_REBOOT = ["reboot:default,s1", "team:default,s1", "save:start", "save:start@s1"]


def test_start_brings_the_lab_to_the_teams_moment_and_starts_the_clock(vm) -> None:
    m, acts = vm
    out = workshop.start(m, "en")
    assert acts == BEFORE_REBOOT + AFTER_REBOOT
    assert out.startswith("# Brief: the reboot test you passed five times")
    assert "The clock runs: 60 minutes from" in out and "./run lab.hint db-stops-after-reboot" in out
    assert workshop.status(m) == "0 of 60 min, 0 of 4 hints, 0 resets"


def test_the_team_servers_are_named_as_the_team_knew_them_with_its_login_and_keys(monkeypatch) -> None:
    lab = catalogue.lab("apparmor-cache")
    every = [Machine(lab, catalogue.platform("debian12-merged"), hypervisor=FakeHypervisor()),
             Machine(lab, catalogue.platform("debian12-merged"), hypervisor=FakeHypervisor(), vm="s1")]
    sent: dict[str, str] = {}
    for one in every:
        monkeypatch.setattr(one.guest, "ssh", lambda command, timeout=120, vm=one.vm: sent.update({vm: command})
                            or subprocess.CompletedProcess([], 0, "", ""))
    workshop.team_servers(every, ["ssh-ed25519 AAAAC3Nz taro's laptop"])
    assert "hostnamectl set-hostname s2" in sent["default"] and "hostnamectl set-hostname s1" in sent["s1"]
    for command in sent.values():
        script = shlex.split(command)[-1]  # sudo -n sh -c SCRIPT
        assert "useradd --create-home --shell /bin/bash isucon" in script and "NOPASSWD:ALL" in script
        assert "printf '%s' 'ssh-ed25519 AAAAC3Nz taro'\"'\"'s laptop\n' > /home/isucon/.ssh/authorized_keys" in script
        assert "chmod 0600 /etc/yarakashi-guest" in script
    monkeypatch.setattr(every[1].guest, "ssh", lambda command, timeout=120: subprocess.CompletedProcess([], 1, "", "sudo: no tty"))
    with pytest.raises(YarakashiError, match="could not make .*-s1 the team's s1: sudo: no tty"):
        workshop.team_servers(every)


def test_hints_come_one_at_a_time_counted_and_end_without_the_fix(vm) -> None:
    m, _ = vm
    workshop.start(m, "en")
    first = workshop.hint(m, "en")
    assert first.splitlines()[0] == "Hint 1 of 4 for db-stops-after-reboot:"
    assert first.splitlines()[1] == m.lab.hints[0]
    assert workshop.hint(m, "ja").splitlines() == ["db-stops-after-reboot のヒント 2/4:", m.lab.hints_ja[1]]
    workshop.hint(m, "en"), workshop.hint(m, "en")
    assert workshop.hint(m, "en").startswith("No more hints for db-stops-after-reboot: all 4 are above.")
    assert workshop.status(m).endswith("4 of 4 hints, 0 resets")


def test_reset_resumes_the_saved_moment_and_keeps_the_clock_and_hints(vm) -> None:
    m, acts = vm
    workshop.start(m, "ja")
    workshop.hint(m, "en")
    out = workshop.reset(m, "ja")
    assert acts[-2:] == ["return:start", "return:start@s1"], "s2 and s1 back at the saved moment"
    assert out.startswith("db-stops-after-reboot の開始時点に戻りました") and "ヒント 1 個使用" in out
    assert workshop.status(m, "ja") == "60 分中 0 分、ヒント 4 個中 1 個、リセット 1 回"


def test_a_shortened_start_timeout_is_a_drop_in_before_the_reboot_and_said_in_every_output(vm, monkeypatch) -> None:
    m, acts = vm
    sent: list[str] = []

    def ssh(command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        sent.append(command)
        acts.append("ssh")
        return subprocess.CompletedProcess([], 0, "15min\n" if "TimeoutStartUSec" in command else "", "")

    monkeypatch.setattr(m.guest, "ssh", ssh)
    out = workshop.start(m, "en", start_timeout=120)
    assert acts == BEFORE_REBOOT + ["ssh", "ssh"] + AFTER_REBOOT
    assert "TimeoutStartSec=%d" in sent[1] and " 120 > /etc/systemd/system/mariadb.service.d/yarakashi-workshop.conf" in sent[1]
    note = "WORKSHOP: mariadb.service waits 120 s to start, not its real 15min (a drop-in of lab.start --start-timeout)"
    assert note in out and workshop.hint(m, "en").startswith(note) and workshop.reset(m, "en").startswith(note)
    assert workshop.status(m).endswith("start timeout 120 s (workshop)")
    rsync = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), hypervisor=FakeHypervisor())
    with pytest.raises(YarakashiError, match="lab rsync-dirlinks has no start timeout to shorten"):
        workshop.start(rsync, "en", start_timeout=120)


def test_hint_or_reset_without_a_started_lab_is_one_clear_line(vm) -> None:
    m, _ = vm
    with pytest.raises(YarakashiError, match=r"no workshop session for db-stops-after-reboot on debian12-merged: start one with ./run lab.start db-stops-after-reboot"):
        workshop.hint(m, "en")


def test_the_language_follows_the_locale_or_the_option() -> None:
    assert workshop.language(None, {"LANG": "ja_JP.UTF-8"}) == "ja"
    assert workshop.language(None, {"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}) == "en"
    with pytest.raises(YarakashiError, match="unknown language 'fr'.*en, ja"):
        workshop.language("fr")


#: Words that would hand a trainee the cause or the fix, per lab.
@pytest.mark.parametrize("lab", sorted(catalogue.labs()))
def test_every_lab_has_a_brief_in_both_languages_that_gives_nothing_away(lab: str) -> None:
    """The brief, and the name and title trainees see: no cause, no fix. The commands in the
    brief use the trainees' name (the alias), not the lab's (the platforms' names and the lab's
    files' paths are left out of the search)."""
    found = catalogue.lab(lab)
    assert found.alias and found.symptom and found.symptom_ja
    for lang in workshop.LANGUAGES:
        text = workshop.brief(found, lang)
        for name in (f"provisioning/{lab}/", f"$YK_LAB_DIR/{lab}/", *found.platforms):
            text = text.replace(name, "")
        assert lab not in text, f"{lab} brief ({lang}) names the lab: its commands must use {found.alias}"
        text += "\n".join((found.alias, found.symptom, found.symptom_ja))
        assert found.spoilers, f"{lab}: lab.toml names its spoilers"
        assert [w for w in found.spoilers if w.lower() in text.lower()] == [], f"{lab} brief ({lang})"
    assert len(found.hints) >= 3 and len(found.hints_ja) == len(found.hints)


def test_check_mine_judges_the_trainees_own_vm_with_its_time_and_hints(vm, monkeypatch) -> None:
    """lab.check --mine: no new VM and no fix step; the steps after the fix (the checks, a real
    reboot, the checks) on the trainee's VM; the JSON carries the workshop's time and hints, schema-valid."""
    import json

    import jsonschema

    from yarakashi import verdict
    from yarakashi.app import checks, target

    m, acts = vm
    workshop.start(m, "en")
    workshop.hint(m, "en")
    monkeypatch.setattr(steps.Runner, "verify", lambda self, wait=300: acts.append("verify") or [  # fine until the reboot
        verdict.Check("mariadb.service", "active", "active" if acts.count("verify") == 1 else "activating", acts.count("verify") == 1)])
    acts.clear()
    report = checks.check_mine(target.resolve("apparmor-cache", "debian12-merged"))
    assert acts == ["verify", "reboot", "verify"]
    assert [p[0] for p in report.phases] == ["verify (after your changes)", "verify (after your changes -> verify -> reboot)"]
    assert not report.passed
    assert report.header[-1] == "workshop: 0 of 60 min, 1 of 4 hints, 0 resets"
    assert not any(line.startswith("fixed means") for line in report.header), "the trainee's own check gives no answer"
    schema = json.loads((paths.REPO / "yarakashi" / "verdict.schema.json").read_text())
    jsonschema.validate(report.to_dict(), schema)
    assert report.to_dict()["workshop"] == {"minutes_used": 0, "minutes": 60, "hints": 1, "resets": 0, "trainee": ""}


def test_a_hint_with_no_lab_vm_says_how_to_start_one(monkeypatch, tmp_path) -> None:
    from yarakashi.app import room, target

    monkeypatch.setattr(paths, "WORK", tmp_path)
    with pytest.raises(YarakashiError, match=r"^no lab VM of memory-engine here: start one with ./run lab.start memory-engine$"):
        room.hint(target.resolve("memory-engine"), "en")


def test_trainees_on_one_host_each_have_their_own_lab_clock_and_hints(vm, monkeypatch) -> None:
    """``--trainee``: each trainee's lab VM is an instance of its own (its domain, work directory,
    clock and hints); the commands a trainee is shown carry their name; lab.status lists them all."""
    from yarakashi.app import room, target, vms

    _, acts = vm
    monkeypatch.setattr(Machine, "exists", lambda self: self.workdir.is_dir())
    monkeypatch.setattr(Machine, "destroy", lambda self: acts.append(f"destroy {self.instance}") or shutil.rmtree(self.workdir, True))
    out = room.start(target.resolve("db-stops-after-reboot", trainee="alice"), "en")
    assert "Hints: ./run lab.hint db-stops-after-reboot --trainee alice." in out
    room.start(target.resolve("apparmor-cache", trainee="bob"), "en")
    room.hint(target.resolve("apparmor-cache", trainee="alice"), "en")
    assert room.hint(target.resolve("apparmor-cache", trainee="alice"), "en").startswith("Hint 2 of 4")
    assert room.hint(target.resolve("apparmor-cache", trainee="bob"), "en").startswith("Hint 1 of 4")
    alice, bob = (target.existing(target.resolve("apparmor-cache", trainee=t)) for t in ("alice", "bob"))
    assert alice.domain != bob.domain and alice.workdir != bob.workdir
    assert (workshop.trainee(alice), workshop.called(bob)) == ("alice", "db-stops-after-reboot --trainee bob")
    with pytest.raises(YarakashiError, match=r"^no lab VM of apparmor-cache --trainee carol here: start one with "
                                             r"\./run lab\.start apparmor-cache --trainee carol$"):
        room.hint(target.resolve("apparmor-cache", trainee="carol"), "en")
    with pytest.raises(YarakashiError, match=r"^--trainee must be 1 to 16 lower-case letters or digits, not 'Bob Smith'$"):
        room.hint(target.resolve("apparmor-cache", trainee="Bob Smith"), "en")
    acts.clear()
    vms.destroy(catalogue.lab("apparmor-cache"), trainee="bob")
    assert acts == ["destroy t-bob"]  # bob's only: alice's lab stays
    assert target.existing(target.resolve("apparmor-cache", trainee="alice")).exists()
