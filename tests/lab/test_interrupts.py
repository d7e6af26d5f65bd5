"""Ctrl-C or SIGTERM at any point of lab.up and lab.check: one line, exit 130, no verdict, and
nothing left behind (no domain, volume or qemu of that VM); the next lab.up works as it is.

Each case runs the task as a user would (``invoke`` in a session of its own, the signal sent
to its whole process group as a terminal does) with a checkout id and work directory of its
own, so that it never touches the suite's other VMs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from yarakashi import labnet, paths, providers

from yarakashi.progress import say

from .conftest import CREATED

LIBVIRT = providers.get("libvirt")

#: For the lane scheduler (yarakashi.lanes): four interrupted tasks, two boots to the end.
TEST_MINUTES = 5  # 295 s measured in a whole suite run (bench/results.md)
LAB, PLATFORM = "rsync-dirlinks", "debian12-merged"
#: A fix that never ends by itself: the interrupt comes while it runs.
SLOW_FIX = "#!/bin/bash\necho yk-slow-fix-started\nsleep 600\n"
#: A right deploy (as the lab's own: rsync -K), plus a boot job that holds the next boot
#: 'starting' for 10 minutes: the second verify waits for it, and the interrupt comes while it waits.
SLOW_BOOT_FIX = """#!/bin/bash
set -e
cd /home/isucon/isucon10-final && rsync -K -r s1/ /
systemctl daemon-reload
printf '[Unit]\\nDescription=holds the boot\\n[Service]\\nType=oneshot\\nExecStart=/bin/sleep 600\\n[Install]\\nWantedBy=multi-user.target\\n' \\
  > /etc/systemd/system/yk-hold-boot.service
systemctl enable yk-hold-boot.service
"""


@dataclass
class Task:
    """An ``invoke`` task running in its own session, its output collected line by line."""

    args: tuple[str, ...]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "invoke", *self.args], cwd=paths.REPO,
                                     env={**os.environ, **self.env}, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            sys.stdout.write(f"    | {line}")

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 900) -> None:
        found = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while sum(1 for line in list(self.lines) if found.search(line)) < count:
            assert self.proc.poll() is None, f"the task ended before {pattern!r}:\n" + "\n".join(self.lines[-20:])
            assert time.monotonic() < deadline, f"no {pattern!r} within {timeout} s"
            time.sleep(0.5)

    def interrupt(self, sig: signal.Signals) -> int:
        say(f"sending {sig.name} to the process group of invoke {' '.join(self.args)}")
        os.killpg(self.proc.pid, sig)
        code = self.proc.wait(timeout=900)
        self._pump.join(timeout=30)
        return code

    def finish(self) -> int:
        code = self.proc.wait(timeout=1800)
        self._pump.join(timeout=30)
        return code


@pytest.fixture
def own(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A checkout id and work directory for this case alone; its VMs are swept afterwards."""
    checkout = f"{paths.CHECKOUT_ID[:4]}i{zlib.crc32(request.node.name.encode()) % 10000}"
    env = {"YARAKASHI_CHECKOUT_ID": checkout, "YARAKASHI_WORK": str(tmp_path / "work")}
    prefix = f"yk-{checkout}-"
    for instance in ("main", "check"):
        CREATED.add(f"{prefix}{LAB}-{PLATFORM}-{instance}-default")
    yield env
    LIBVIRT.sweep(prefix)  # what a failed case left: the session must stay clean


def assert_clean_end(task: Task, code: int, sig: signal.Signals, during: str, env: dict[str, str]) -> None:
    prefix = f"yk-{env['YARAKASHI_CHECKOUT_ID']}-"
    last = task.lines[-1] if task.lines else ""
    say(f"exit {code}; last line: {last}")
    assert code == 130, "\n".join(task.lines[-20:])
    assert re.fullmatch(rf"interrupted \({sig.name}\) during {re.escape(during)}; cleaned up VM {prefix}\S+", last), last
    text = "\n".join(task.lines)
    assert "Traceback" not in text
    # Checks seen along the way may be printed; the verdict (its closing "observed:" line) never is.
    assert not re.search(r"^observed: ", text, re.M), "an interrupt is never a verdict"
    assert LIBVIRT.vms(prefix) == [], "no domain left"
    assert LIBVIRT.volumes(prefix) == [], "no volume left"
    qemu = subprocess.run(["pgrep", "-f", f"guest={prefix}"], capture_output=True, text=True).stdout.split()
    assert qemu == [], "no qemu left"
    assert labnet.in_namespace(), "the lab network other VMs use is still there"


def test_sigint_before_the_boot(own) -> None:
    task = Task(("lab.up", LAB, "--platform", PLATFORM), own)
    task.wait_for(r"vagrant up: ")
    code = task.interrupt(signal.SIGINT)
    assert_clean_end(task, code, signal.SIGINT, f"vagrant up of {LAB}/{PLATFORM} (main)", own)


def test_sigterm_during_the_boot_and_the_next_up_works(own) -> None:
    task = Task(("lab.up", LAB, "--platform", PLATFORM), own)
    task.wait_for(r"Waiting for domain to get an IP address|Starting domain")
    code = task.interrupt(signal.SIGTERM)
    assert_clean_end(task, code, signal.SIGTERM, f"vagrant up of {LAB}/{PLATFORM} (main)", own)
    again = Task(("lab.up", LAB, "--platform", PLATFORM), own)
    assert again.finish() == 0, "\n".join(again.lines[-20:])
    gone = Task(("lab.destroy", LAB), own)
    assert gone.finish() == 0
    assert LIBVIRT.vms(f"yk-{own['YARAKASHI_CHECKOUT_ID']}-") == []


def test_sigint_during_a_provisioning_step(own, tmp_path) -> None:
    fix = tmp_path / "slow-fix.sh"
    fix.write_text(SLOW_FIX)
    task = Task(("lab.check", LAB, "--fix", str(fix), "--platform", PLATFORM), own)
    task.wait_for(r"yk-slow-fix-started")
    code = task.interrupt(signal.SIGINT)
    assert_clean_end(task, code, signal.SIGINT, f"fix of {LAB}/{PLATFORM} (check)", own)


def test_sigterm_during_verify(own, tmp_path) -> None:
    fix = tmp_path / "slow-boot-fix.sh"
    fix.write_text(SLOW_BOOT_FIX)
    task = Task(("lab.check", LAB, "--fix", str(fix), "--platform", PLATFORM), own)
    task.wait_for(r"verify on ", count=2)  # the one after the real reboot, waiting for the boot
    code = task.interrupt(signal.SIGTERM)
    assert_clean_end(task, code, signal.SIGTERM, f"verify of {LAB}/{PLATFORM} (check)", own)
