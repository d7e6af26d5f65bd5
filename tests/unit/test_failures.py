"""Every failure of an external tool reaches the user as one line (what, exit code, the tool's
last words, the log), exit 1, no traceback; an interrupt ends with exit 130 and a clean-up line.

The tools are real where they can fail harmlessly (qemu-img, ssh, virsh on a missing domain)
and stand-ins on PATH where a real run would need a VM or the internet (vagrant, the box build).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yarakashi import boxes, catalogue, disk, failures, labnet, paths
from yarakashi.machine import Machine

INVOKE = [sys.executable, "-m", "invoke"]


def fake_tool(bindir: Path, name: str, body: str) -> None:
    bindir.mkdir(exist_ok=True)
    (bindir / name).write_text("#!/bin/sh\n" + body + "\n")
    (bindir / name).chmod(0o755)


@pytest.fixture
def virtualbox_stand_ins(tmp_path: Path) -> dict[str, str]:
    """PATH with a VBoxManage that only tells its version, so no libvirtd is started, and a
    vagrant whose ``up`` fails the way an unreachable Vagrant Cloud makes it fail."""
    bindir = tmp_path / "bin"
    fake_tool(bindir, "VBoxManage", "echo 7.0.20r163906")
    fake_tool(bindir, "vagrant", 'case "$1" in up) echo "Bringing machine \'default\' up with \'virtualbox\' provider..."\n'
              '  echo "The box \'bento/ubuntu-20.04\' could not be found or could not be accessed in the remote catalog." >&2; exit 1;;\n'
              '  sleep) exec sleep 60;;\nesac\nexit 0')
    return {"PATH": f"{bindir}:{os.environ['PATH']}", "YARAKASHI_PROVIDER": "virtualbox",
            "YARAKASHI_WORK": str(tmp_path / "work")}


def invoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INVOKE, *args], cwd=paths.REPO, env={**os.environ, **env}, capture_output=True, text=True)


def test_vagrant_up_failing_is_one_line_exit_1_and_nothing_half_made(virtualbox_stand_ins, tmp_path) -> None:
    done = invoke("lab.up", "rsync-dirlinks", "--platform", "ubuntu-20.04", env=virtualbox_stand_ins)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: vagrant up of rsync-dirlinks/ubuntu-20.04 (main) failed: vagrant exited 1: ")
    assert "could not be found or could not be accessed in the remote catalog" in last
    log = tmp_path / "work" / "logs" / "rsync-dirlinks" / "ubuntu-20.04-main.log"
    assert last.endswith(f"log: {log}") and log.exists()
    assert not (tmp_path / "work" / "rsync-dirlinks").exists() or not any((tmp_path / "work" / "rsync-dirlinks").iterdir())


def test_the_box_build_failing_names_the_log(tmp_path, monkeypatch) -> None:
    script = tmp_path / "build.sh"
    script.write_text("#!/bin/sh\necho 'I: Retrieving InRelease'\necho \"E: Couldn't download packages: systemd\"\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setattr(boxes, "BUILD_SCRIPTS", (str(script), str(script)))
    monkeypatch.setattr(paths, "STATE", tmp_path / "state")
    plat = catalogue.platform("debian12-merged")
    boxes.box_dir(plat).mkdir(parents=True)
    with pytest.raises(failures.ToolFailed) as caught:
        boxes._build(plat)
    assert str(caught.value) == (
        "building box yarakashi/debian12-merged (debootstrap, first boot, vagrant box add) failed: build.sh exited 1: "
        f"I: Retrieving InRelease | E: Couldn't download packages: systemd; log: {boxes.box_dir(plat) / 'build.log'}")


def test_qemu_img_failing_on_a_missing_disk(tmp_path) -> None:
    with pytest.raises(failures.ToolFailed, match=r"^reading /lib failed: qemu-img exited 1: qemu-img: Could not open"):
        with failures.step("reading /lib"):
            disk.stat(tmp_path / "gone.qcow2", "/lib", tmp_path)


def test_debugfs_that_cannot_read_says_why(tmp_path) -> None:
    image = tmp_path / "d.raw"
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["sfdisk", "-q", str(image)], input="start=2048\n", text=True, check=True)
    (tmp_path / "root" / "lib").mkdir(parents=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-b", "4096", "-E", f"offset={disk.ROOT_PARTITION_OFFSET}",
                    "-d", str(tmp_path / "root"), str(image), "15000"], check=True)
    assert disk.parse_type(disk.stat(image, "/lib", tmp_path)) == "directory"
    with pytest.raises(disk.Unreadable, match=r"could not read /usr on the stopped disk .*: debugfs said: /usr: File not found by ext2_lookup"):
        disk.stat(image, "/usr", tmp_path)


def test_virsh_failing_outside_a_named_step_is_one_line() -> None:
    with pytest.raises(subprocess.CalledProcessError) as caught:
        labnet.virsh("domstate", "yk-no-such-domain-for-a-unit-test")
    line = failures.describe(caught.value)
    assert line.startswith("running virsh -q -c failed: virsh exited 1: error: ")
    assert "\n" not in line


def test_ssh_failing_before_a_reboot_is_a_tool_failure(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(paths, "WORK", tmp_path / "work")
    m = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "unit")
    m.workdir.mkdir(parents=True)
    m.ssh_config_path.write_text("Host default\n  HostName 127.0.0.1\n  Port 9\n  BatchMode yes\n  ConnectTimeout 5\n")
    with pytest.raises(failures.ToolFailed, match=r"failed: ssh exited 255: .*Connection refused; config: "):
        m.reboot()


def test_a_tool_that_is_not_installed() -> None:
    with pytest.raises(failures.ToolFailed, match="no-such-tool-yk is not installed"):
        with failures.step("probing"):
            subprocess.run(["no-such-tool-yk"], check=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_during_vagrant_up_cleans_up_and_exits_130(sig, virtualbox_stand_ins, tmp_path) -> None:
    bindir = Path(virtualbox_stand_ins["PATH"].split(":")[0])
    fake_tool(bindir, "vagrant", 'case "$1" in up) echo "Bringing machine up"; exec sleep 60;; esac\nexit 0')
    proc = subprocess.Popen([*INVOKE, "lab.up", "rsync-dirlinks", "--platform", "ubuntu-20.04"], cwd=paths.REPO,
                            env={**os.environ, **virtualbox_stand_ins}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    log = tmp_path / "work" / "logs" / "rsync-dirlinks" / "ubuntu-20.04-main.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and "Bringing machine up" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, sig)  # the whole process group, as a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    name = signal.Signals(sig).name
    assert err.strip().splitlines()[-1] == (
        f"interrupted ({name}) during vagrant up of rsync-dirlinks/ubuntu-20.04 (main); "
        f"cleaned up VM {Machine(catalogue.lab('rsync-dirlinks'), catalogue.platform('ubuntu-20.04'), 'main').domain}")
    assert not (tmp_path / "work" / "rsync-dirlinks" / "ubuntu-20.04-main").exists()


def test_an_interrupt_passes_sigint_on_to_pytest_children_and_waits_for_their_clean_up(tmp_path) -> None:
    """What ``./run test`` and ``lab.test`` do with their pytest processes when interrupted."""
    marker = tmp_path / "child-cleaned-up"
    child = ("import signal, sys, time, pathlib\n"
             f"def bye(*_):\n    time.sleep(1); pathlib.Path({str(marker)!r}).write_text('yes'); sys.exit(2)\n"
             "signal.signal(signal.SIGINT, bye)\nprint('ready', flush=True)\ntime.sleep(60)\n")
    parent = ("import os, signal, subprocess, sys, threading\n"
              "from yarakashi import failures\n"
              "failures.install()\n"
              f"proc = subprocess.Popen([sys.executable, '-c', {child!r}], stdout=subprocess.PIPE, text=True)\n"
              "proc.stdout.readline()\n"
              "threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
              "try:\n    failures.wait_children([proc], grace=30)\n"
              "except failures.Interrupted as exc:\n    print('interrupted', exc.args[0], proc.returncode)\n")
    done = subprocess.run([sys.executable, "-c", parent], cwd=paths.REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "interrupted SIGTERM 2", done.stderr
    assert marker.read_text() == "yes"


def run_step(tmp_path: Path, script: str, bound: int) -> subprocess.CompletedProcess[str]:
    """provisioning/common/run-step.sh as Vagrant runs it in a guest, here with the guard stubbed
    (on the host the real guard refuses: tests/unit/test_guard.py)."""
    lab = tmp_path / "lab"
    (lab / "common").mkdir(parents=True)
    for name in ("run-step.sh", "errline.sh"):
        text = (paths.PROVISIONING / "common" / name).read_text().replace("/run/yarakashi-step-", f"{tmp_path}/step-")
        (lab / "common" / name).write_text(text)
    (lab / "common" / "guard.sh").write_text("")
    (tmp_path / "fix").write_text(script)
    return subprocess.run(["bash", str(lab / "common" / "run-step.sh"), "fix", str(tmp_path / "fix"), str(bound)],
                          env={**os.environ, "YK_LAB_DIR": str(lab)}, capture_output=True, text=True, timeout=60)


def test_a_step_reports_its_exit_status_and_the_failed_line(tmp_path) -> None:
    done = run_step(tmp_path, "#!/bin/bash\nset -e\necho deploying\nfalse || true\nls /nonexistent-yk\necho never\n", 0)
    assert done.returncode == 2
    assert done.stdout.splitlines()[-1] == "[yarakashi] step fix exited 2 (last failed command: line 5: ls /nonexistent-yk (exit 2))"


def test_a_step_past_its_bound_is_ended_and_said_so(tmp_path) -> None:
    start = time.monotonic()
    done = run_step(tmp_path, "#!/bin/bash\necho restarting mariadb\nsleep 30\n", 1)
    assert time.monotonic() - start < 15
    assert done.stdout.splitlines()[-1] == "[yarakashi] step fix exited 124 (did not finish within 1 s)"
    from yarakashi.steps import StepRun

    log = "".join(f"[l/p/i]     default: {line}\n" for line in done.stdout.splitlines())
    assert StepRun.from_log("fix", log).describe() == (
        "fix did not finish within 1 s (ended with exit 124); its last output: restarting mariadb")
