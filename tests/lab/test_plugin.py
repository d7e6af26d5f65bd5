"""The pytest plugin as another project uses it: installed with pip into a virtualenv of its own
that already pins an older pytest (the pin stays), a downstream test file that asks for the
``yarakashi_check`` fixture judges that project's deploy script on a real VM."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from yarakashi import catalogue, paths
from yarakashi.machine import Machine

from .conftest import CREATED, LIBVIRT

#: For the lane scheduler (yarakashi.lanes): a venv, one fresh VM, one reboot.
TEST_MINUTES = 3  # 142 s measured in a whole suite run (bench/results.md)

#: The downstream project's own pin, older than the pytest of yarakashi's requirements.txt.
DOWNSTREAM_PYTEST = "8.4.2"

#: The downstream project's deploy: a right fix of the lab's corpus (the unit under /etc/systemd/system).
DEPLOY = paths.LABS / "rsync-dirlinks" / "fixes" / "install-under-etc.sh"

DOWNSTREAM_TEST = '''
import json

def test_our_deploy_survives_merged_usr(yarakashi_check):
    report = yarakashi_check("rsync-dirlinks", fix="deploy.sh", instance="test-plugin", keep=True)
    print("VERDICT " + json.dumps(report.to_dict()))
    assert report.passed, report.text()
    host = yarakashi_check.host  # the judged VM, kept until this test ends
    assert host.file("/etc/systemd/system/mysql.service").is_file and host.file("/lib").is_symlink
    print("HOST ASSERTED")
'''


def test_a_downstream_project_judges_its_deploy_with_the_plugin(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    pinned = subprocess.run([*pip, f"pytest=={DOWNSTREAM_PYTEST}"], capture_output=True, text=True, timeout=900)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    installed = subprocess.run([*pip, "-e", str(paths.REPO)], capture_output=True, text=True, timeout=900)
    shutil.rmtree(paths.REPO / "yarakashi.egg-info", ignore_errors=True)  # setuptools' by-product in the checkout
    assert installed.returncode == 0, installed.stdout + installed.stderr
    kept = subprocess.run([str(venv / "bin" / "python"), "-c", "import pytest; print(pytest.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert kept == DOWNSTREAM_PYTEST, f"installing yarakashi changed the project's pytest {DOWNSTREAM_PYTEST} to {kept}"
    project = tmp_path / "downstream"
    project.mkdir()
    shutil.copy(DEPLOY, project / "deploy.sh")
    (project / "test_deploy.py").write_text(DOWNSTREAM_TEST)
    plat = "debian12-merged"
    domain = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform(plat), "test-plugin").domain
    CREATED.add(domain)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    done = subprocess.run([str(venv / "bin" / "pytest"), "-s", "-p", "no:cacheprovider", f"--yarakashi-platform={plat}",
                           "test_deploy.py"], cwd=project, env=env, capture_output=True, text=True, timeout=2400)
    print(done.stdout[-4000:], done.stderr[-2000:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout and "HOST ASSERTED" in done.stdout
    verdict_line = next(line for line in done.stdout.splitlines() if line.startswith("VERDICT "))
    assert '"verdict": "PASS"' in verdict_line and '"lab": "rsync-dirlinks"' in verdict_line
    assert LIBVIRT.vms(domain) == [], "the kept VM goes when the downstream test ends"
