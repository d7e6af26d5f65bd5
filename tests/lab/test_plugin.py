"""The pytest plugin as another project uses it: installed with pip into a virtualenv of its own
that already pins an older pytest (the pin stays), a downstream test file whose two tests ask
for the ``yarakashi_check`` fixture judge a right and a wrong deploy at once, under pytest-xdist."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from yarakashi import paths, providers

from .conftest import LIBVIRT

#: For the lane scheduler (yarakashi.lanes): a venv, two fresh VMs at once, a reboot each.
TEST_MINUTES = 4  # 229 s measured alone, two VMs at once (bench/results.md)

#: The downstream project's own pin, older than the pytest of yarakashi's requirements.txt.
DOWNSTREAM_PYTEST = "8.4.2"

#: The downstream project's deploys: a right fix of the lab's corpus (the unit under
#: /etc/systemd/system), and a wrong one (cp -r: the unit systemd loads is not the team's).
RIGHT = paths.LABS / "rsync-dirlinks" / "fixes" / "install-under-etc.sh"
WRONG = paths.LABS / "rsync-dirlinks" / "fixes" / "cp-recursive.sh"

#: The downstream project's VMs are named with a checkout id of their own, so that this test
#: finds (and, after a failure, removes) every one of them.
DOWNSTREAM_ID = "plugintest"

DOWNSTREAM_TEST = '''
import json
from pathlib import Path

def test_our_deploy_survives_merged_usr(yarakashi_check):
    report = yarakashi_check("rsync-dirlinks", fix="right.sh", keep=True)
    Path("right.json").write_text(json.dumps(report.to_dict()))
    assert report.passed, report.text()
    host = yarakashi_check.host  # the judged VM, kept until this test ends
    assert host.file("/etc/systemd/system/mysql.service").is_file and host.file("/lib").is_symlink
    Path("host-asserted").write_text("yes")

def test_a_copy_that_misses_the_unit_is_caught(yarakashi_check):
    report = yarakashi_check("rsync-dirlinks", fix="wrong.sh")
    Path("wrong.json").write_text(json.dumps(report.to_dict()))
    assert not report.passed, report.text()
'''


def test_a_downstream_project_judges_two_deploys_at_once_with_the_plugin(tmp_path: Path) -> None:
    """A project that pins pytest 8.4.2 installs yarakashi (the pin stays) and pytest-xdist, and
    judges a right deploy and a wrong one at once (``-n 2``): two VMs, no collision, both verdicts
    right; the kept VM answers as a testinfra host, and goes when its test ends."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    pinned = subprocess.run([*pip, f"pytest=={DOWNSTREAM_PYTEST}", "pytest-xdist"], capture_output=True, text=True, timeout=900)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    installed = subprocess.run([*pip, "-e", str(paths.REPO)], capture_output=True, text=True, timeout=900)
    shutil.rmtree(paths.REPO / "yarakashi.egg-info", ignore_errors=True)  # setuptools' by-product in the checkout
    assert installed.returncode == 0, installed.stdout + installed.stderr
    kept = subprocess.run([str(venv / "bin" / "python"), "-c", "import pytest; print(pytest.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert kept == DOWNSTREAM_PYTEST, f"installing yarakashi changed the project's pytest {DOWNSTREAM_PYTEST} to {kept}"
    project = tmp_path / "downstream"
    project.mkdir()
    shutil.copy(RIGHT, project / "right.sh")
    shutil.copy(WRONG, project / "wrong.sh")
    (project / "test_deploy.py").write_text(DOWNSTREAM_TEST)
    prefix = f"{providers.GUEST_PREFIX}{DOWNSTREAM_ID}-"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["YARAKASHI_CHECKOUT_ID"] = DOWNSTREAM_ID
    try:
        done = subprocess.run([str(venv / "bin" / "pytest"), "-n", "2", "-p", "no:cacheprovider",
                               "--yarakashi-platform=debian12-merged", "test_deploy.py"],
                              cwd=project, env=env, capture_output=True, text=True, timeout=2400)
        print(done.stdout[-4000:], done.stderr[-2000:])
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "2 passed" in done.stdout and (project / "host-asserted").is_file()
        right, wrong = (json.loads((project / f"{n}.json").read_text()) for n in ("right", "wrong"))
        assert right["verdict"] == "PASS" and wrong["verdict"] == "FAIL"
        assert "mysql.service as systemd loads it" in {c["check"] for p in wrong["phases"] for c in p["checks"] if not c["passed"]}
        assert right["target"] != wrong["target"] and all("pytest-" in r["target"] for r in (right, wrong)), "a VM each"
        assert LIBVIRT.vms(prefix) == [], "every VM of the downstream run goes, the kept one when its test ends"
    finally:
        LIBVIRT.sweep(prefix)
