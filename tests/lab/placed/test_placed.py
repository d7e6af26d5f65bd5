"""What a lane of ``./run test --host URI`` runs on the host it was placed on: a lab VM made there
with no ``--host`` of its own (``YARAKASHI_HOST``, set by the lanes), reached over SSH through that
host, not on this machine's libvirt. tests/lab/test_remote_host.py runs these cases in lanes on two
other libvirt hosts; the suite's own lanes do not collect this directory.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from yarakashi import hosts, labnet, providers
from yarakashi.machine import Machine

#: A module whose VMs may run on another libvirt host (yarakashi.lanes).
ANY_HOST = True
#: Each lab's case is a unit of its own, so that two lanes on two hosts take one each.
MINUTES_PER_LAB = "test_minutes"


@pytest.mark.parametrize("lab", ["memory-engine", "rsync-dirlinks"])
def test_a_vm_made_in_this_lane_runs_on_the_lanes_host(lab: str, fresh_vm: Callable[[str, str, str], Machine],
                                                       record_property: Callable[[str, object], None]) -> None:
    where = hosts.default()
    if where.local:
        pytest.skip("runs in a lane placed on another libvirt host (tests/lab/test_remote_host.py places it)")
    vm = fresh_vm(lab, "debian12-merged", "placed")
    record_property("libvirt_host", where.name)
    assert vm.runs_on == where
    assert vm.domain in labnet.virsh("list", "--name", uri=where.libvirt_uri()).stdout.split(), "made on the lane's host"
    assert providers.get("libvirt").vms(vm.domain) == [], "and not on this machine's libvirt"
    assert vm.guest.ssh("test -f /etc/yarakashi-guest").returncode == 0, "a lab guest, reached over SSH through that host"
