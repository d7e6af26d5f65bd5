"""A trainee's lab on another libvirt host, placed as a facilitator whose room outgrows one machine
places it: ``lab.start --host qemu+ssh://…/system`` (libvirt's own remote transport, no agent of
ours), then the facilitator's view, a real reboot, ``lab.reset`` and ``lab.destroy``, typed
without ``--host``: every one goes through that host, and nothing runs on this machine's libvirt.

Then the suite's lanes on two other hosts (``./run test --host URI --host URI``): each lane's
VMs are made on the host it was placed on (``placed/``).

The other hosts are libvirtds with an SSH server in namespaces of their own (``libvirt_host.py``),
reached only over SSH: one machine, so this proves the path, not a speed-up (bench/hosts.py models that).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from yarakashi import hosts, lanes, paths, providers
from yarakashi.guest import Endpoint

from . import libvirt_host
from .conftest import CREATED, invoke

#: For the lane scheduler (yarakashi.lanes): a second libvirtd, one VM there, a start, a reboot, a reset;
#: then a third libvirtd and a VM on each of the two in lanes of their own.
TEST_MINUTES = 9
LAB, PLATFORM, TRAINEE, WHO = "memory-engine", "debian12-merged", "tuning-froze-the-server", "carol"
LIBVIRT = providers.get("libvirt")


@pytest.fixture(scope="module")
def second_host() -> Iterator[libvirt_host.SecondHost]:
    with libvirt_host.started() as host:
        yield host


@pytest.fixture
def facilitator(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The facilitator's environment: a checkout id and work directory of their own."""
    checkout = f"{paths.CHECKOUT_ID[:4]}r{zlib.crc32(b'remote') % 10000}"
    env = {"YARAKASHI_CHECKOUT_ID": checkout, "YARAKASHI_WORK": str(tmp_path / "work"), "LANG": "C.UTF-8"}
    CREATED.add(f"yk-{checkout}-{LAB}-{PLATFORM}-t-{WHO}-default")  # were it made here by mistake
    yield env
    invoke(env, "lab.destroy", LAB, "--trainee", WHO)


def test_a_trainees_lab_runs_reboots_and_resets_on_another_libvirt_host(second_host, facilitator) -> None:
    env = facilitator
    domain = f"yk-{env['YARAKASHI_CHECKOUT_ID']}-{LAB}-{PLATFORM}-t-{WHO}-default"
    started = invoke(env, "lab.start", TRAINEE, "--trainee", WHO, "--host", second_host.uri)
    assert started.returncode == 0, started.stderr
    assert "The clock runs: 30 minutes from" in started.stdout

    # Placed there, not here: the domain and its disk are the second host's.
    assert domain in second_host.virsh("list", "--name").stdout.split(), "the lab runs on the second host"
    assert LIBVIRT.vms(domain) == [], "and not on this machine's libvirt"
    assert any(v.startswith(domain) for v in second_host.virsh("vol-list", "default").stdout.split())
    status = invoke(env, "lab.status")
    row = next(line for line in status.stdout.splitlines() if f"t-{WHO}" in line)
    assert second_host.name in row and "running" in row and "workshop: 0 of 30 min, 0 of" in row, row

    # The trainee's change, a real reboot through that host, then the reset: the change is gone.
    guest = Endpoint("default", Path(env["YARAKASHI_WORK"]) / LAB / f"{PLATFORM}-t-{WHO}" / "ssh_config")
    saved_boot = guest.boot_id()
    assert saved_boot, "the guest answers over SSH through the second host"
    assert guest.ssh("sudo touch /root/trainee-was-here").returncode == 0
    rebooted = invoke(env, "lab.reboot", LAB, "--trainee", WHO)
    assert rebooted.returncode == 0 and "new boot id" in rebooted.stdout, rebooted.stderr
    assert guest.boot_id() not in (None, saved_boot), "a real reboot"
    assert guest.ssh("sudo test -e /root/trainee-was-here").returncode == 0, "a reboot keeps the disk"
    reset = invoke(env, "lab.reset", TRAINEE, "--trainee", WHO)
    assert reset.returncode == 0 and "Back at the start of" in reset.stdout, reset.stderr
    assert guest.boot_id() == saved_boot, "back in the saved boot"
    assert guest.ssh("sudo test -e /root/trainee-was-here").returncode == 1, "the trainee's change is gone"

    # Removed where it runs.
    destroyed = invoke(env, "lab.destroy", LAB, "--trainee", WHO)
    assert destroyed.returncode == 0, destroyed.stderr
    assert domain not in second_host.virsh("list", "--all", "--name").stdout.split()
    assert not any(v.startswith(domain) for v in second_host.virsh("vol-list", "default").stdout.split())
    assert not (Path(env["YARAKASHI_WORK"]) / LAB / f"{PLATFORM}-t-{WHO}").exists()


def test_the_suites_lanes_run_on_two_other_libvirt_hosts(second_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``lanes.run`` as ``./run test --lanes 0 --host H2 --host H3`` calls it, on the probe module
    ``placed/``: its two cases split over the hosts' lanes, each VM made on its lane's host."""
    work = tmp_path / "work"  # the lanes' reports and VM directories: not the suite's own lane-N.xml
    monkeypatch.setenv("YARAKASHI_WORK", str(work))
    monkeypatch.setattr(paths, "WORK", work)
    with libvirt_host.started("yk-h3") as third:
        code, totals = lanes.run(Path(__file__).parent / "placed", 0, ["-p", "no:cacheprovider"],
                                 others=[hosts.parse(second_host.uri), hosts.parse(third.uri)])
        left = third.virsh("list", "--all", "--name").stdout.split()
    assert (code, totals) == (0, {"passed": 2, "failed": 0, "skipped": 0})
    placed = {}
    for xml in sorted((work / "reports").glob("lane-*.xml")):
        for case in ET.parse(xml).getroot().iter("testcase"):
            placed[case.get("name")] = next(p.get("value") for p in case.iter("property") if p.get("name") == "libvirt_host")
    assert sorted(placed.values()) == ["yk-h2", "yk-h3"], f"one case on each host: {placed}"
    assert not [d for d in left if "-placed-" in d], "the third host's VM removed by its lane"
    assert not [d for d in second_host.virsh("list", "--all", "--name").stdout.split() if "-placed-" in d]
