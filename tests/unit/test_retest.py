"""The reboot test's logic against a scripted target (lab tests run it on real VMs)."""

from __future__ import annotations

import subprocess

import pytest

from yarakashi import retest, verdict
from yarakashi.catalogue import Spec
from yarakashi.verdict import Check


class Scripted:
    """A target whose commands answer from a table: the first key found in the command wins."""

    name = "scripted"

    def __init__(self, answers: dict[str, str], rc: int = 0):
        self.answers, self.rc, self.commands, self.cycles = answers, rc, [], 0

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        if self.rc == 255:
            return subprocess.CompletedProcess(command, 255, "", "Connection refused")
        for key, out in self.answers.items():
            if key in command:
                return subprocess.CompletedProcess(command, 0, out, "")
        return subprocess.CompletedProcess(command, 0, "", "")

    def power_cycle(self) -> str:
        self.cycles += 1
        self.answers["boot_id"] = f"boot-{self.cycles}"
        return self.answers["boot_id"]


HEALTHY = {
    "boot_id": "boot-0",
    "is-system-running": "running\n",
    "--state=activating": "",
    "--state=failed": "",
    "TimeoutStartUSec": "TimeoutStartUSec=15min\nActiveState=active\nInactiveExitTimestampMonotonic=5000000\n100.5\n",
    "is-enabled": "enabled\n",
    "is-active": "active\n",
    "cat /var/lib/digest": "1000 42\n",
    "SELECT": "1000 42\n",
}
SPEC = Spec(("mariadb.service",), "mysql -N -e 'SELECT 1'", "/var/lib/digest")


def names(checks: list[Check], passed: bool) -> list[str]:
    return [c.name for c in checks if c.passed is passed]


def test_a_healthy_host_passes_every_check_without_a_reboot() -> None:
    target = Scripted(dict(HEALTHY))
    checks = retest.run(target, SPEC, bound=30)
    assert verdict.passed(checks), verdict.table(checks)
    assert names(checks, True) == [
        "boot finished (systemctl is-system-running)", "no unit activating", "no unit failed",
        "mariadb.service enabled", "mariadb.service active", "data written before the reboot",
    ]
    assert target.cycles == 0
    # Read-only: nothing but queries was sent.
    assert not any(w in c for c in target.commands for w in ("reboot", "restart", "start ", "stop", "rm "))


def test_a_unit_stuck_activating_fails_with_the_reason() -> None:
    target = Scripted({**HEALTHY, "is-system-running": "running\n", "--state=activating": "mariadb.service loaded activating start start MariaDB\n",
                       "is-active": "activating\n"})
    checks = retest.run(target, SPEC, bound=30)
    assert not verdict.passed(checks)
    assert names(checks, False) == ["no unit activating", "mariadb.service active"]
    report = verdict.table(checks)
    assert "FAIL    no unit activating  " in report and "mariadb.service" in report
    assert report.endswith("FAIL: 2 of 6 checks failed")


def test_a_boot_that_never_finishes_fails_within_the_bound() -> None:
    target = Scripted({**HEALTHY, "is-system-running": "starting\n"})
    checks = retest.run(target, SPEC, bound=0.5)
    assert (checks[0].name, checks[0].expected, checks[0].passed) == ("boot finished (systemctl is-system-running)", "running", False)
    assert checks[0].observed.startswith("still 'starting' after")
    assert "a unit stayed activating" in checks[0].reason


def test_a_reboot_power_cycles_and_compares_the_data_with_before() -> None:
    target = Scripted(dict(HEALTHY))
    original_ssh = target.ssh

    def data_lost_on_reboot(command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if "SELECT" in command and target.cycles:
            return subprocess.CompletedProcess(command, 0, "0 0\n", "")
        return original_ssh(command, timeout)

    target.ssh = data_lost_on_reboot  # type: ignore[method-assign]
    checks = retest.run(target, SPEC, power_cycle=target.power_cycle, bound=30)
    assert target.cycles == 1
    assert checks[0].name == "back over SSH after the power cycle" and checks[0].passed
    assert checks[-1] == Check("data written before the reboot", "1000 42", "0 0", False,
                               "the data written before the reboot must still be there")
    assert checks[-1].detail == "expected '1000 42', got '0 0': the data written before the reboot must still be there"


def test_no_ssh_session_is_one_clear_failure() -> None:
    checks = retest.run(Scripted({}, rc=255), SPEC, bound=30)
    assert checks == [Check("SSH session", "opens", "Connection refused", False)]


def test_the_bound_is_the_longest_start_timeout_that_matters_plus_a_margin() -> None:
    assert retest.bound_for(Scripted(dict(HEALTHY)), ("mariadb.service",)) == (960.0, "TimeoutStartSec=900s of mariadb.service + 60 s", None)
    assert retest.bound_for(Scripted({**HEALTHY, "TimeoutStartUSec": "TimeoutStartUSec=infinity"}), ("x.service",))[0] == retest.DEFAULT_BOUND


def test_a_unit_activating_now_tells_when_its_timeout_is_due() -> None:
    # Activating since 5 s after boot, 100.5 s of uptime now: 900 - 95.5 s are left.
    activating = "TimeoutStartUSec=15min\nActiveState=activating\nInactiveExitTimestampMonotonic=5000000\n100.5\n"
    assert retest.bound_for(Scripted({**HEALTHY, "TimeoutStartUSec": activating}), ("mariadb.service",))[2] == 804.5


def test_unknown_keys_in_a_labs_retest_table_are_named() -> None:
    with pytest.raises(Exception, match=r"unknown key 'service'; valid keys: data, data_written, services"):
        Spec.from_table({"service": ["mysql"]})
