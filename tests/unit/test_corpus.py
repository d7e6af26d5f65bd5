"""The fix corpora (labs/*/fixes/) and lab.check's saved state, without VMs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from yarakashi import YarakashiError, catalogue, checking, corpus, evidence, model, paths, providers, states, steps, verdict
from yarakashi.machine import Machine
from yarakashi.steps import StepRun

from .fakes import FakeHypervisor



def names_a_verify_can_report(lab: model.Lab) -> set[str]:
    """Check names the lab's verify script (and what it sources) and the host can report."""
    text = "".join(p.read_text() for p in (paths.PROVISIONING / "common").glob("*.sh"))
    text += "".join(p.read_text() for p in (paths.PROVISIONING / lab.name).glob("*.sh"))
    return {*re.findall(r'check(?:_that)? "([^"$]+)"', text), "new SSH session", "verify script",
            "back over SSH after a real reboot", checking.BOUND_CHECK}


@pytest.mark.parametrize("lab", sorted(catalogue.labs()))
def test_each_corpus_has_enough_scripts_each_naming_checks_that_exist(lab: str) -> None:
    """As many right and wrong fixes as lab.toml's ``corpus_least`` asks for (both verdicts)."""
    cases = corpus.cases(lab)
    failing = [c for c in cases if c.verdict == "FAIL"]
    least = catalogue.lab(lab).corpus_least
    assert set(least) == {"PASS", "FAIL"}, f"{lab}: corpus_least names both verdicts"
    for said, at_least in least.items():
        assert len([c for c in cases if c.verdict == said]) >= at_least, (said, [c.path.name for c in cases])
    known = names_a_verify_can_report(catalogue.lab(lab))
    for case in failing:
        assert case.fails and set(case.fails) <= known, (case.path.name, set(case.fails) - known)


@pytest.mark.parametrize("header", [
    "# expect: PASS\n",  # no why
    "# why: x\n",  # no expect
    "# expect: PASS\n# expect: FAIL AppArmor\n# why: x\n",  # both kinds
    "# expect: FAIL\n# why: x\n",  # FAIL without the check
    "# expect: PASS\n# why: x\n# fix-bound: soon\n",
])
def test_an_incomplete_header_is_an_error_naming_the_file(header: str) -> None:
    with pytest.raises(YarakashiError, match=r"^bad\.sh: "):
        corpus.parse(Path("bad.sh"), header)


def test_judge_wants_the_verdict_and_each_named_check() -> None:
    case = corpus.parse(Path("x.sh"), "# expect: FAIL AppArmor\n# expect: FAIL mariadb.service\n# why: off\n")
    only_one = verdict.Report("lab.check", "x", [("verify", [verdict.Check("AppArmor", "on", "off", False),
                                                           verdict.Check("mariadb.service", "active", "active", True)])])
    assert corpus.judge(case, only_one) == ["expected the check 'mariadb.service' to fail; failed: AppArmor"]
    assert corpus.line(case, only_one).startswith("NOT AS EXPECTED: FAIL (AppArmor) - off")
    passing = verdict.Report("lab.check", "x", [("verify", [verdict.Check("AppArmor", "on", "on", True)])])
    assert corpus.judge(case, passing) == ["expected FAIL, got PASS"]
    assert corpus.summary([case], [passing]).splitlines()[-1] == "0 of 1 scripts as expected"


def fake_machine(monkeypatch, tmp_path, kept: dict[str, str] | None = None) -> list[str]:
    """Machine's acts recorded in a list; ``kept``: the saved state a former check left."""
    ran: list[str] = []
    saved: dict[str, dict[str, str]] = {"before-fix": kept} if kept else {}
    monkeypatch.setattr(paths, "WORK", tmp_path)
    monkeypatch.setattr(Machine, "up", lambda self: ran.append("up"))
    monkeypatch.setattr(Machine, "reboot", lambda self: ran.append("reboot") or "boot")
    monkeypatch.setattr(Machine, "destroy", lambda self: ran.append("destroy") or saved.clear())
    monkeypatch.setattr(Machine, "park", lambda self: ran.append("park"))
    monkeypatch.setattr(steps.Runner, "run", lambda self, phase, check=True: ran.append(
        f"{phase}:{self.m.scripts.get(phase, Path('lab')).name}:{self.m.bounds.get(phase, '-')}") or StepRun(phase, 0))
    monkeypatch.setattr(steps.Runner, "verify", lambda self, wait=300: ran.append("verify") or [
        verdict.Check("x", "1", "1", True)])
    monkeypatch.setattr(states.Saved, "return_to", lambda self, name: ran.append(f"return_to:{name}") or "boot")
    monkeypatch.setattr(states.Saved, "save", lambda self, name, key="": ran.append(f"save_state:{name}") or
                        saved.update({name: {"key": key, "saved": "then", "boot": "b"}}))
    monkeypatch.setattr(states.Saved, "get", lambda self, name: saved.get(name))
    return ran


def test_several_fixes_start_from_one_saved_state(monkeypatch, tmp_path) -> None:
    """Steps before the fix run once, the real reboot before it too; the running guest is saved;
    each later fix resumes that state, then runs the steps after it in full (real reboots)."""
    ran = fake_machine(monkeypatch, tmp_path)
    a, b = tmp_path / "a.sh", tmp_path / "b.sh"
    a.write_text("true\n"), b.write_text("true\n")
    with providers.substituted(FakeHypervisor()):
        reports = checking.check(Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "check"), [checking.Fix(a, 60), checking.Fix(b)])
    assert ran == ["destroy", "up", "prepare:lab:-", "break:lab:-", "reboot", "save_state:before-fix",
                   "fix:a.sh:60", "verify", "reboot", "verify",
                   "return_to:before-fix", "fix:b.sh:300", "verify", "reboot", "verify", "destroy"]
    assert [r.facts["fix"]["path"] for r in reports] == [str(a), str(b)]
    assert [p[0] for p in reports[0].phases] == ["verify (after prepare -> break -> reboot -> fix)",
                                                 "verify (after prepare -> break -> reboot -> fix -> verify -> reboot)"]
    ran.clear()
    with providers.substituted(FakeHypervisor()):
        [one] = checking.check(Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "check"), [checking.Fix(None)])
    assert ran == ["destroy", "up", "prepare:lab:-", "save_state:before-fix", "fix:lab:300", "verify", "reboot", "verify", "destroy"]
    assert one.passed and one.header[-1] == "the fix script: fix exited 0"


def test_a_kept_state_is_resumed_only_while_what_made_it_is_unchanged(monkeypatch, tmp_path) -> None:
    """keep_state: the VM is kept stopped with its state; the next check resumes it (no new VM,
    no prepare or break) while the key is the same, and makes it anew when a script changed."""
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    key = states.key(lab, plat, ["prepare", "break", "reboot"])
    ran = fake_machine(monkeypatch, tmp_path, {"key": key, "saved": "then", "boot": "b"})
    with providers.substituted(FakeHypervisor()):
        checking.check(Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "check"), [checking.Fix(None)], keep_state=True)
    assert ran == ["return_to:before-fix", "fix:lab:300", "verify", "reboot", "verify", "park"]
    ran = fake_machine(monkeypatch, tmp_path, {"key": "0" * 16, "saved": "then", "boot": "b"})
    with providers.substituted(FakeHypervisor()):
        checking.check(Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "check"), [checking.Fix(None)])
    assert ran[:5] == ["destroy", "up", "prepare:lab:-", "break:lab:-", "reboot"]
    assert ran[-1] == "destroy"


def test_the_state_key_changes_with_any_script_the_state_is_made_from(monkeypatch, tmp_path) -> None:
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    before = states.key(lab, plat, ["prepare", "break"])
    monkeypatch.setattr(paths, "PROVISIONING", tmp_path)
    for folder in ("common", "apparmor-cache"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.sh").write_text("true\n")
    changed = states.key(lab, plat, ["prepare", "break"])
    (tmp_path / "common" / "x.sh").write_text("false\n")
    assert len({before, changed, states.key(lab, plat, ["prepare", "break"])}) == 3


@pytest.mark.parametrize(("observed", "code"), [((False, True, True), 0), ((False, False, True), 1)])
def test_an_ubuntu_platform_is_observed_and_compared_with_the_stated_verdicts(monkeypatch, capsys, observed, code) -> None:
    """lab.test --platform ubuntu-18.04: the break (before the fix in the check list) is judged
    with no fix, other steps as the fix; a step whose verdict differs makes it exit 1."""
    from yarakashi import suite

    asked: list[list[checking.Fix]] = []

    def fake_check(m, fixes, **_):
        assert (m.lab.name, m.platform.name, m.instance) == ("apparmor-cache", "ubuntu-18.04", "observe")
        asked.append(list(fixes))
        return [verdict.Report("lab.check", m.lab.name, [("verify", [verdict.Check("x", "1", "1" if ok else "2", ok)])])
                for ok in observed]

    monkeypatch.setattr(checking, "check", fake_check)
    lab = catalogue.lab("apparmor-cache")
    assert suite.observe(lab, "ubuntu-18.04") == code
    steps = list(lab.expect["ubuntu-18.04"])
    assert steps == ["break", "reload-apparmor", "fix"]
    assert [f.script for f in asked[0]] == [suite.NO_FIX, lab.script("reload-apparmor", "ubuntu-18.04"),
                                          lab.script("fix", "ubuntu-18.04")]
    out = capsys.readouterr().out
    assert ("MISMATCH" in out) == bool(code)
    assert out.rstrip().endswith(f"{code} mismatch(es) of 3 stated verdicts")


def test_a_fail_keeps_its_evidence_and_names_it_in_the_json(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(paths, "WORK", tmp_path)
    for name, fake in {"up": lambda self: None, "destroy": lambda self: None, "reboot": lambda self: "boot"}.items():
        monkeypatch.setattr(Machine, name, fake)
    monkeypatch.setattr(steps.Runner, "run", lambda self, phase, check=True: StepRun(phase, 127, "line 14: systemctl daemon-reload (exit 127)"))
    monkeypatch.setattr(steps.Runner, "verify", lambda self, wait=300: [verdict.Check("new SSH session", "opens", "closed", False)])
    monkeypatch.setattr(evidence, "save", lambda m, dest: {"log": str(m.log), "stat /lib (stopped disk)": str(dest / "x")})
    with providers.substituted(FakeHypervisor()):
        [report] = checking.check(Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "unit"), [checking.Fix(None)])
    data = report.to_dict()
    assert data["verdict"] == "FAIL" and data["fix"]["exit_code"] == 127
    assert data["files"]["stat /lib (stopped disk)"].endswith("reports/rsync-dirlinks/debian12-merged-unit/01-lab-fix/x")
    jsonschema.validate(data, json.loads(verdict.SCHEMA.read_text()))


def test_a_fix_that_keeps_the_guest_from_coming_back_is_a_fail_not_an_error(monkeypatch, tmp_path) -> None:
    from yarakashi.progress import Timeout

    def no_return(self):
        raise Timeout("no answer from yk-x back from reboot within 600 s")

    monkeypatch.setattr(paths, "WORK", tmp_path)
    for name, fake in {"up": lambda self: None, "destroy": lambda self: None, "reboot": no_return}.items():
        monkeypatch.setattr(Machine, name, fake)
    monkeypatch.setattr(steps.Runner, "run", lambda self, phase, check=True: StepRun(phase, 0))
    monkeypatch.setattr(steps.Runner, "verify", lambda self, wait=300: [verdict.Check("x", "1", "1", True)])
    monkeypatch.setattr(evidence, "save", lambda m, dest: {})
    with providers.substituted(FakeHypervisor()):
        [report] = checking.check(Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "unit"), [checking.Fix(None)])
    assert not report.passed
    (after, [check]) = report.phases[-1]
    assert after == "reboot (after prepare -> fix -> verify)" and check.name == "back over SSH after a real reboot"
    assert "within 600 s" in check.observed


def test_a_fix_past_its_bound_fails_a_check_of_its_own_and_the_running_system_is_judged(monkeypatch, tmp_path) -> None:
    """A fix that never ends is a FAIL with that reason; the verify right after it says what it
    left running, and a failing one ends the check before the reboot."""
    ran = fake_machine(monkeypatch, tmp_path)
    hung = StepRun("fix", 124, bound=60, last_output="restarting mariadb")
    monkeypatch.setattr(steps.Runner, "run", lambda self, phase, check=True: ran.append(phase) or (hung if phase == "fix" else StepRun(phase, 0)))
    monkeypatch.setattr(steps.Runner, "verify", lambda self, wait=300: ran.append("verify") or [
        verdict.Check("mariadb.service", "active", "activating", False)])
    monkeypatch.setattr(evidence, "save", lambda m, dest: {})
    with providers.substituted(FakeHypervisor()):
        [report] = checking.check(Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "unit"), [checking.Fix(None, 60)])
    assert ran[-3:] == ["fix", "verify", "destroy"], "no reboot after a running system that already fails"
    assert [(phase, [c.name for c in checks if not c.passed]) for phase, checks in report.phases] == [
        ("fix", [checking.BOUND_CHECK]), ("verify (after prepare -> break -> reboot -> fix)", ["mariadb.service"])]
    assert report.phases[0][1][0].observed == "fix did not finish within 60 s (ended with exit 124); its last output: restarting mariadb"
