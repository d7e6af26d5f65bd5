"""lab.check on real VMs: a fix is judged on a fresh VM, through a real reboot, PASS or FAIL.

This is how a trainee checks a solution and how another project proves its procedure safe.
"""

from __future__ import annotations

import json
import re

import jsonschema

from yarakashi import catalogue, commands, paths, verdict
from yarakashi.machine import Machine
from yarakashi.progress import say

from .conftest import CREATED

#: For the lane scheduler (yarakashi.lanes): three fresh VMs, two real reboots each.
TEST_MINUTES = 18


def check(lab: str, fix: str | None, platform: str | None, instance: str, wait: int = 300) -> tuple[bool, str]:
    plat = platform or commands.check_platform(catalogue.lab(lab))
    CREATED.add(Machine(catalogue.lab(lab), catalogue.platform(plat), instance).domain)
    [report] = commands.check(lab, [fix] if fix else [], platform, instance=instance, verify_wait=wait)
    say("as JSON: " + json.dumps(report.to_dict(), ensure_ascii=False))
    assert report.to_dict()["verdict"] == ("PASS" if report.passed else "FAIL")
    jsonschema.validate(report.to_dict(), json.loads(verdict.SCHEMA.read_text()))
    return report.passed, report.text()


def test_a_safe_deploy_passes() -> None:
    passed, report = check("rsync-dirlinks", None, "debian12-merged", "test-check-safe")
    assert passed, report
    assert len(re.findall(r"^PASS +/lib +symlink to usr/lib$", report, re.M)) == 2  # before and after the reboot
    assert "the fix script: fix exited 0" in report


def test_the_naive_deploy_fails() -> None:
    naive = str(paths.REPO / "provisioning/rsync-dirlinks/deploy-naive.sh")
    passed, report = check("rsync-dirlinks", naive, "debian12-merged", "test-check-naive")
    assert not passed
    assert re.search(r"^FAIL +new SSH session ", report, re.M), report
    # The fix script's own end is reported apart from what the checks observed.
    assert "the fix script: your fix exited 127; last failed command: line 14: systemctl daemon-reload (exit 127)" in report


def test_a_fix_that_lasts_one_boot_fails() -> None:
    one_boot = str(paths.REPO / "provisioning/apparmor-cache/remove-unknown.sh")
    passed, report = check("apparmor-cache", one_boot, None, "test-check-one-boot", wait=120)
    assert not passed
    assert re.search(r"^FAIL +mariadb.service +expected 'active', got 'activating'", report, re.M), report
    assert re.search(r"^PASS +data written before the reboot ", report, re.M), report  # the trap: the data is readable
