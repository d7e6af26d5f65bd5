"""The command line: bad names give a clear error, exit 2 and leave nothing behind."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from invoke import Context
from invoke.exceptions import Exit

from yarakashi import catalogue, labnet, paths, suite, verdict
from yarakashi.app import vms
from yarakashi.machine import Machine

from .fakes import FakeHypervisor

INVOKE = [sys.executable, "-m", "invoke"]


def invoke(*args: str, work: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YARAKASHI_WORK": str(work)}
    return subprocess.run([*INVOKE, *args], cwd=paths.REPO, env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lab.up", "nope"), "unknown lab 'nope'; valid labs: "),
        (("lab.up", "rsync-dirlinks", "--platform", "ubuntu-99.04"), "unknown platform 'ubuntu-99.04' for lab rsync-dirlinks; valid platforms: debian11-split, debian12-merged"),
        (("lab.run", "rsync-dirlinks", "explode"), "unknown step 'explode' of lab rsync-dirlinks; valid steps: break, fix, prepare, verify"),
        (("lab.test", "nope"), "unknown lab 'nope'"),
        (("box.build", "ubuntu-99.04"), "valid platforms: debian11-split, debian12-merged"),
        (("lab.destroy", "nope"), "unknown lab 'nope'; valid labs: all, apparmor-cache, memory-engine, rsync-dirlinks"),
        (("lab.retest", "nope"), "unknown lab 'nope'; valid labs: apparmor-cache, memory-engine, rsync-dirlinks"),
        (("lab.retest", "memory-engine", "--platform", "debian11-split"), "valid platforms: debian12-merged, ubuntu-18.04"),
        (("lab.retest", "memory-engine", "--platform", "debian12-merged"), "no VM of memory-engine on debian12-merged"),
        (("retest", "--host", "isu1", "--ssh-config", "/nonexistent/config"), "SSH config not found: /nonexistent/config"),
        (("retest", "--host", "-oProxyCommand=x"), "not an SSH host"),
        (("retest", "--host", "isu1", "--bound", "soon"), "--bound must be a positive number of seconds, not 'soon'"),
        (("lab.sysrq", "memory-engine", "oom"), "a SysRq key is one letter or digit (f: call the OOM killer), not 'oom'"),
        (("lab.sysrq", "memory-engine", "f", "--platform", "debian12-merged"), "no VM of memory-engine on debian12-merged"),
        (("lab.retest", "memory-engine", "--bound", "0"), "--bound must be a positive number of seconds, not '0'"),
        (("lab.check", "rsync-dirlinks", "--fix", "/nonexistent/fix.sh"), "fix script not found: /nonexistent/fix.sh"),
        (("lab.check", "rsync-dirlinks", "--fix-bound", "0"), "--fix-bound must be a whole number from 1 up, not '0'"),
        (("lab.check", "memory-engine", "--platform", "debian11-split"), "valid platforms: debian12-merged, ubuntu-18.04"),
        (("lab.corpus", "nope"), "unknown lab 'nope'"),
        (("test", "--unit", "--pytest", "-k 'open"), "--pytest \"-k 'open\": No closing quotation (quote as in a shell)"),
        (("lab.corpus", "rsync-dirlinks", "--only", "zzz"), "no corpus script of rsync-dirlinks matches 'zzz' (its scripts: "),
        (("lab.start", "--help"), "--help after a task is read as its argument; help on a task: ./run --help lab.start"),
        (("lab.hint", "-h"), "-h after a task is read as its argument; help on a task: ./run --help lab.hint"),
        (("test", "--lanes", "x"), "--lanes must be a whole number from 1 up, not 'x'"),
        (("test", "--lanes", "0"), "--lanes must be a whole number from 1 up, not '0'"),
        (("test", "--host", "qemu:///system"), "--host names another libvirt host (qemu+ssh://...); this machine's lanes are --lanes"),
        (("test", "--lanes", "0", "--host", "ssh://ws2"), "--host must be this machine (qemu:///system) or a libvirt URI "
                                                          "qemu+ssh://[USER@]HOST[:PORT]/system, not 'ssh://ws2'"),
        (("test", "--unit", "--deadline", "soon"), "--deadline must be a whole number from 1 up, not 'soon'"),
        (("lab.test", "rsync-dirlinks", "--repeat", "-1"), "--repeat must be a whole number from 1 up, not '-1'"),
        (("room.plan", "/nonexistent/room.toml"), "roster not found: /nonexistent/room.toml"),
        (("room.open", "/nonexistent/room.toml"), "roster not found: /nonexistent/room.toml"),
        (("room.open", "docs/examples/room.toml", "--port", "99999"), "--port must be a port number from 1 to 65535, not '99999'"),
        (("room.open", "docs/examples/room.toml", "--address", "example.com"), "--address must be an IP address of this host"),
        (("room.open", "docs/examples/room.toml", "--checks", "0"), "--checks must be a whole number from 1 up, not '0'"),
        (("room.open", "docs/examples/room.toml", "--ssh-port", "22x"), "--ssh-port must be a port number from 1 to 65535, not '22x'"),
        (("room.open", "docs/examples/room.toml", "--ssh-port", "8080"), "--ssh-port must differ from --port (8080)"),
        (("room.open", "docs/examples/room.toml", "--ssh-host", "a b"), "--ssh-host must be a host name or address, not 'a b'"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(args, message, tmp_path) -> None:
    work = tmp_path / "work"
    done = invoke(*args, work=work)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not work.exists()


@pytest.mark.parametrize(("task", "args"), [("up", ("apparmor-cache",)), ("destroy", ("all",)), ("test_all", ())])
def test_a_task_on_vms_refuses_another_user_in_one_line(task, args, tmp_path, monkeypatch, capsys) -> None:
    """As another user than root, a VM task says it needs root and makes nothing; the tasks
    that only read (lab.list, ./run test --unit) would still run."""
    monkeypatch.setenv("YARAKASHI_WORK", str(tmp_path / "work"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)

    def reached(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the task went on past the root check")

    for module, name in ((vms, "up"), (vms, "destroy"), (suite, "test_suite")):
        monkeypatch.setattr(module, name, reached)
    spec = importlib.util.spec_from_file_location("yk_tasks", paths.REPO / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    with pytest.raises(Exit) as ended:
        getattr(tasks, task)(Context(), *args)
    assert ended.value.code == 2
    assert ended.value.message == ("error: this task needs root (VMs, libvirtd, a network namespace): run it as root, "
                                   "or through ./run (./run lab.up NAME, ./run test...), which asks for root with sudo or su")
    assert not (tmp_path / "work").exists()
    tasks.lab_list(Context())
    assert "apparmor-cache" in capsys.readouterr().out


def test_output_cut_short_by_its_reader_is_no_traceback(tmp_path) -> None:
    """``./run lab.list | head -1``: the reader is gone before the task writes."""
    env = {**os.environ, "YARAKASHI_WORK": str(tmp_path)}
    env.pop("PYTHONUNBUFFERED", None)  # block-buffered, as in most shells: the write comes at the end
    proc = subprocess.Popen([*INVOKE, "lab.list"], cwd=paths.REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait() == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_a_missing_lab_name_is_an_error(tmp_path) -> None:
    done = invoke("lab.destroy", work=tmp_path)
    assert done.returncode != 0 and "'name'" in done.stderr


def test_lab_list_shows_every_lab_in_both_languages(tmp_path) -> None:
    done = invoke("lab.list", work=tmp_path)
    assert done.returncode == 0
    for lab in catalogue.labs().values():
        assert lab.title in done.stdout and lab.title_ja in done.stdout
        for plat in lab.platforms:
            assert f"{plat} ({catalogue.platform(plat).evidence})" in done.stdout
    assert "up -> prepare -> break -> fix -> reboot -> verify -> destroy" in done.stdout


def test_destroy_hard_stops_before_removing(tmp_path, monkeypatch) -> None:
    """With a fake Vagrant CLI and a fake hypervisor: destroy pulls the plug, then Vagrant
    destroys the VM, then the hypervisor removes what is left; the work directory goes too."""
    calls = tmp_path / "calls.log"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "vagrant").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (fake / "vagrant").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    hv = FakeHypervisor()
    m = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "unit", hypervisor=hv)
    assert m.workdir == tmp_path / "work" / "rsync-dirlinks" / "debian12-merged-unit"
    m.render()
    (m.workdir / ".vagrant" / "machines" / "default" / "libvirt").mkdir(parents=True)
    (m.workdir / ".vagrant" / "machines" / "default" / "libvirt" / "id").write_text("x")
    m.destroy()
    assert hv.acts == [("hard_stop", m.domain), ("before_destroy", m.domain), ("remove", m.domain)]
    assert calls.read_text().splitlines() == ["destroy default --force"]
    assert not m.workdir.exists()


def test_instance_names_are_checked() -> None:
    with pytest.raises(Exception, match="instance name"):
        Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "Bad Name!")


def test_destroy_all_removes_only_this_checkouts_vms(tmp_path, monkeypatch, capsys) -> None:
    from yarakashi import providers, vagrantfile
    from yarakashi.app import vms

    mine = vagrantfile.checkout_prefix()
    others = ["yk-0ther1-memory-engine-debian12-merged-main-default", "yk-0ther2-rsync-dirlinks-debian11-split-main-default"]
    hv = FakeHypervisor(names=[f"{mine}memory-engine-debian12-merged-main-default", *others])
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    torn = []
    monkeypatch.setattr(labnet, "teardown", lambda: torn.append(True))
    with providers.substituted(hv):
        vms.destroy(None)
        assert hv.names == others
        assert torn == [], "other checkouts' VMs still use the lab network"
        assert "left 2 VMs of other checkouts alone" in capsys.readouterr().err
        hv.names.clear()
        vms.destroy(None)
    assert torn == [True]


def test_retest_json_is_one_object_with_the_checks(tmp_path) -> None:
    """``retest --host ... --json`` against a port where nothing listens: one JSON object, exit 1."""
    config = tmp_path / "ssh_config"
    config.write_text("Host isu1\n  HostName 127.0.0.1\n  Port 9\n")
    done = invoke("retest", "--host", "isu1", "--ssh-config", str(config), "--service", "mysql.service", "--json",
                  "--junit", str(tmp_path / "out" / "retest.xml"), work=tmp_path / "work")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, json.loads(verdict.SCHEMA.read_text()))
    assert report["kind"] == "retest" and report["target"] == "isu1" and report["verdict"] == "FAIL"
    assert report["reboot"] is False and report["elapsed_seconds"] >= 0
    [phase] = report["phases"]
    assert phase["checks"] == [{"check": "SSH session", "expected": "opens", "observed": phase["checks"][0]["observed"],
                                "passed": False, "reason": ""}]
    assert "Connection refused" in phase["checks"][0]["observed"]
    suite = ET.parse(tmp_path / "out" / "retest.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    assert suite.find("testcase").get("name") == "SSH session"
    assert {p.get("name"): p.get("value") for p in suite.iter("property")} == {"reboot": "False"}


def test_the_verdict_schema_takes_a_check_report_and_rejects_a_wrong_one() -> None:
    schema = json.loads(verdict.SCHEMA.read_text())
    fix = {"path": "fix.sh", "sha256": "0" * 64, "exit_code": None, "ended": "fix did not report an exit status"}
    report = verdict.Report("lab.check", "rsync-dirlinks/debian12-merged (check)",
                            [("verify (after fix)", [verdict.Check.compare("/lib", "symlink to usr/lib", "a real directory")])],
                            facts={"lab": "rsync-dirlinks", "platform": "debian12-merged", "evidence": "verified", "fix": fix})
    jsonschema.validate(report.to_dict(), schema)
    for key, wrong in (("verdict", "MAYBE"), ("evidence", "guessed"), ("elapsed_seconds", -1)):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**report.to_dict(), key: wrong}, schema)


def test_a_domain_defined_again_after_its_removal_is_removed_again(tmp_path, monkeypatch, capsys) -> None:
    """A killed `vagrant up` may leave a definition on its way to libvirt: destroy looks again."""
    from yarakashi import machine

    monkeypatch.setattr(machine, "GONE_SETTLE", 0)
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    hv = FakeHypervisor()
    m = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "unit", hypervisor=hv)
    late = iter([True])
    real_remove = hv.remove

    def remove(vm) -> None:
        real_remove(vm)
        if next(late, False):  # the late definition lands right after the first removal
            hv.names.append(vm.domain)

    monkeypatch.setattr(hv, "remove", remove)
    hv.names.append(m.domain)
    m.destroy()
    assert hv.vms(m.domain) == []
    assert "is back after its removal (a late definition): removing it again" in capsys.readouterr().err


def test_every_option_means_one_thing_and_says_what() -> None:
    """Long options only (invoke's own short flags gave ``-p`` to --platform in one task and to
    --pytest in another), and help text for every option of every task."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("yk_tasks", paths.REPO / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    seen = 0
    for name in tasks.ns.task_names:
        for arg in tasks.ns[name].get_arguments():
            seen += 1
            assert all(len(n) > 1 for n in arg.names), f"{name}: --{arg.name} has a short flag {arg.names}"
            assert arg.help, f"{name}: --{arg.name} has no help text"
    assert seen > 60


def test_json_is_json_lines_in_every_task_that_prints_rows(tmp_path) -> None:
    labs, plats = len(catalogue.labs()), len(catalogue.platforms())
    for args, count in ((("lab.list", "--json"), labs), (("lab.list", "--trainee", "--json"), labs), (("box.list", "--json"), plats)):
        done = invoke(*args, work=tmp_path)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(rows) == count and all(isinstance(r, dict) for r in rows), args
    trainees = invoke("lab.list", "--trainee", "--json", work=tmp_path).stdout
    assert "apparmor" not in trainees and "rsync" not in trainees, "the trainees' catalogue names no cause"


def test_a_bare_pytest_in_a_checkout_boots_nothing() -> None:
    """The real-VM tests run only when asked (``--lab``, or ``./run test``): a bare ``pytest``
    collects them and skips every one, before any fixture could make a VM."""
    env = {k: v for k, v in os.environ.items() if k != "YARAKASHI_LAB_TESTS"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/lab"], cwd=paths.REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    last = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0 and " skipped" in last and "passed" not in last and "error" not in last, done.stdout[-2000:]


def test_the_yarakashi_command_runs_the_tasks_of_its_checkout_or_says_in_one_line_it_has_none(tmp_path) -> None:
    """The console script of an installed package: the checkout's tasks; without a checkout one line, exit 2."""
    env = {**os.environ, "PYTHONPATH": str(paths.REPO), "YARAKASHI_WORK": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "yarakashi.console", "lab.list", "--trainee"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "./run lab.start db-stops-after-reboot" in done.stdout, done.stderr
    env["YARAKASHI_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "yarakashi.console", "lab.list"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"error: no yarakashi checkout at {tmp_path} (labs/ and tasks.py): install it editable "
                                   "from a checkout (pip install -e /path/to/yarakashi) or set YARAKASHI_HOME to one")
