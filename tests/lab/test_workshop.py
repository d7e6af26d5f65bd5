"""Trainees' walkthroughs on real VMs, as a workshop runs them: lab.start, a hint, a wrong fix,
lab.check --mine FAIL, lab.reset, a right fix, lab.check --mine PASS. Key lines asserted in
Japanese and in English. apparmor-cache (s2, and s1 with the team's app) with the workshop's 120 s
start timeout and the team's one-boot workaround; memory-engine for a named trainee (--trainee),
who first gives InnoDB most of the RAM, then a pool that leaves the server its headroom. After
each start, the walk of :mod:`tests.lab.spoilers` on every server, as the team's login.
(rsync-dirlinks' walkthrough is the room's, tests/lab/test_room.py: through the portal and SSH.)

The tasks run as a trainee types them, with a checkout id and work directory of their own, so
that the trainee's lab (instance ``main``) never touches a developer's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from yarakashi import catalogue, paths, providers
from yarakashi.progress import say

from . import spoilers
from .conftest import CREATED, invoke

#: For the lane scheduler (yarakashi.lanes): two labs, one after the other; each a start and
#: two checks with real reboots.
TEST_MINUTES = 18  # apparmor-cache's trainee about 10 min in a whole suite run (bench/results.md), memory-engine's about 7, s1 about 2
LAB, PLATFORM = "apparmor-cache", "debian12-merged"
#: The name trainees type (lab.toml alias): what the team saw, not the cause.
TRAINEE = "db-stops-after-reboot"
MEMORY_LAB, MEMORY_TRAINEE, WHO2 = "memory-engine", "tuning-froze-the-server", "bob"
LIBVIRT = providers.get("libvirt")


@pytest.fixture
def trainee(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A trainee's environment: a checkout id and work directory of their own."""
    checkout = f"{paths.CHECKOUT_ID[:4]}w{zlib.crc32(b'workshop') % 10000}"
    env = {"YARAKASHI_CHECKOUT_ID": checkout, "YARAKASHI_WORK": str(tmp_path / "work"), "LANG": "C.UTF-8"}
    mine = f"{providers.GUEST_PREFIX}{checkout}"
    CREATED.add(f"{mine}-{LAB}-{PLATFORM}-main-default")
    CREATED.add(f"{mine}-{LAB}-{PLATFORM}-main-s1")
    CREATED.add(f"{mine}-{MEMORY_LAB}-{PLATFORM}-t-{WHO2}-default")
    yield env
    invoke(env, "lab.destroy", LAB)
    invoke(env, "lab.destroy", MEMORY_LAB, "--trainee", WHO2)
    LIBVIRT.sweep(f"yk-{checkout}-")


def in_guest(env: dict[str, str], command: str, lab: str = LAB, instance: str = "main",
             machine: str = "default") -> subprocess.CompletedProcess[str]:
    """``command`` typed in a new SSH session to the trainee's VM (its own SSH config), or to
    the lab's other ``machine`` (apparmor-cache's ``s1``)."""
    own = "" if machine == "default" else f"-{machine}"
    config = Path(env["YARAKASHI_WORK"]) / lab / f"{PLATFORM}-{instance}" / f"ssh_config{own}"
    say(f"trainee, in the guest{own}: {command}")
    done = subprocess.run(["ssh", "-F", str(config), machine, command], capture_output=True, text=True, timeout=300)
    for line in (done.stdout + done.stderr).splitlines():
        sys.stdout.write(f"    | {line}\n")
    return done


def guest_home(env: dict[str, str], lab: str = LAB, instance: str = "main") -> list[str]:
    """What the trainee finds in the guest's home."""
    done = in_guest(env, "ls -A /home/vagrant", lab, instance)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def no_spoilers(env: dict[str, str], lab: str, instance: str = "main", machine: str = "default") -> None:
    """Nothing the team's login reaches on the server names the cause (tests.lab.spoilers)."""
    walk = in_guest(env, f"sudo -u isucon -H {spoilers.command(catalogue.lab(lab))}", lab, instance, machine)
    assert walk.returncode == 0, walk.stderr
    assert spoilers.found(walk.stdout, catalogue.lab(lab)) == [], walk.stdout


def test_a_trainee_walks_through_the_lab_from_start_to_a_passing_fix(trainee) -> None:
    started = invoke(trainee, "lab.start", TRAINEE, "--start-timeout", "120", "--lang", "ja")
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.startswith("# 問題文: 5 回通った再起動試験")
    assert "ワークショップ設定: mariadb.service の起動待ちは本来の 15min ではなく 120 秒" in started.stdout
    assert "時間を計り始めました" in started.stdout
    assert not {"yarakashi", "yarakashi-steps"} & set(guest_home(trainee)), "the lab's files were left in the guest"
    # The post's two servers: the team's app on s1, its database s2 by name, both just rebooted.
    # The app's start line, waited for: the state may be saved while the app still pings s2.
    app = ("hostname; systemctl is-active isuumo.go.service; getent hosts s2 | wc -l;"
           " timeout 120 sh -c 'until sudo journalctl -b -u isuumo.go.service -q | grep -q \"http server started\";"
           " do sleep 2; done' && echo started")
    assert in_guest(trainee, app, machine="s1").stdout.split() == ["s1", "active", "1", "started"]
    no_spoilers(trainee, LAB)
    no_spoilers(trainee, LAB, machine="s1")
    status = invoke(trainee, "lab.status").stdout.splitlines()
    assert any("main (s1)" in row and "running" in row for row in status), status

    hint = invoke(trainee, "lab.hint", TRAINEE)  # LANG=C: English
    assert hint.returncode == 0
    assert "WORKSHOP: mariadb.service waits 120 s to start, not its real 15min" in hint.stdout
    assert "Hint 1 of 4 for db-stops-after-reboot:" in hint.stdout

    # The team's own workaround: fine now, the stale profile back at the next boot.
    assert invoke(trainee, "lab.run", LAB, "remove-unknown").returncode == 0
    wrong = invoke(trainee, "lab.check", TRAINEE, "--mine", "--json")
    assert wrong.returncode == 1, wrong.stderr[-2000:]
    report = json.loads(wrong.stdout)
    assert report["verdict"] == "FAIL" and report["workshop"]["hints"] == 1
    failed = {c["check"] for phase in report["phases"] for c in phase["checks"] if not c["passed"]}
    assert "processes confined by a profile no file under /etc/apparmor.d defines" in failed, failed

    reset = invoke(trainee, "lab.reset", TRAINEE, "--lang", "ja")
    assert reset.returncode == 0
    assert "db-stops-after-reboot の開始時点に戻りました" in reset.stdout and "ヒント 1 個使用" in reset.stdout
    assert in_guest(trainee, app, machine="s1").stdout.split() == ["s1", "active", "1", "started"], "s1 back at the saved moment too"

    assert invoke(trainee, "lab.run", LAB, "fix").returncode == 0
    right = invoke(trainee, "lab.check", TRAINEE, "--mine")
    assert right.returncode == 0, right.stdout[-3000:]
    assert right.stdout.rstrip().endswith("observed: PASS")
    assert "1 of 4 hints, 1 resets" in right.stdout


def test_a_trainee_gives_innodb_most_of_the_ram_then_leaves_headroom(trainee) -> None:
    who, instance = ("--trainee", WHO2), f"t-{WHO2}"
    started = invoke(trainee, "lab.start", MEMORY_TRAINEE, *who)  # LANG=C: English
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.startswith('# Brief: "put it all in memory, it will be faster"')
    assert "The clock runs: 30 minutes" in started.stdout
    home = guest_home(trainee, MEMORY_LAB, instance)
    assert not {"yarakashi", "yarakashi-steps"} & set(home), "the lab's files were left in the guest"
    no_spoilers(trainee, MEMORY_LAB, instance)

    hint = invoke(trainee, "lab.hint", MEMORY_TRAINEE, "--lang", "ja", *who)
    assert hint.returncode == 0 and f"{MEMORY_TRAINEE} のヒント 1/4:" in hint.stdout

    # Fast, the InnoDB way, but the pool takes three quarters of a 1 GiB server: the check's
    # headroom rule fails it (a pool fills as the data is read, and the server runs out).
    greedy = in_guest(trainee, "printf '[mysqld]\\ninnodb_buffer_pool_size = 768M\\n' | sudo tee /etc/mysql/conf.d/tuning.cnf "
                      "&& sudo systemctl restart mariadb", MEMORY_LAB, instance)
    assert greedy.returncode == 0, greedy.stderr
    wrong = invoke(trainee, "lab.check", MEMORY_TRAINEE, "--mine", "--json", *who)
    assert wrong.returncode == 1, wrong.stderr[-2000:]
    report = json.loads(wrong.stdout)
    assert report["verdict"] == "FAIL" and report["workshop"]["trainee"] == WHO2 and report["workshop"]["hints"] == 1
    failed = {c["check"] for phase in report["phases"] for c in phase["checks"] if not c["passed"]}
    assert "innodb_buffer_pool_size at most half the RAM" in failed, failed

    reset = invoke(trainee, "lab.reset", MEMORY_TRAINEE, *who)
    assert reset.returncode == 0
    assert f"Back at the start of {MEMORY_TRAINEE} after" in reset.stdout and "1 hints" in reset.stdout
    assert "tuning.cnf" not in in_guest(trainee, "ls /etc/mysql/conf.d", MEMORY_LAB, instance).stdout, "the reset kept the change"

    # A right one, written as a trainee would: under a fifth of the RAM, in the other directory Debian reads.
    right_fix = in_guest(trainee, "printf '[mysqld]\\ninnodb_buffer_pool_size = 192M\\n' | sudo tee /etc/mysql/conf.d/tuning.cnf "
                         "&& sudo systemctl restart mariadb", MEMORY_LAB, instance)
    assert right_fix.returncode == 0, right_fix.stderr
    right = invoke(trainee, "lab.check", MEMORY_TRAINEE, "--mine", *who)
    assert right.returncode == 0, right.stdout[-3000:]
    assert right.stdout.rstrip().endswith("observed: PASS")
    assert "1 of 4 hints, 1 resets" in right.stdout
