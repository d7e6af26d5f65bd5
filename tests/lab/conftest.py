"""Real-VM fixtures: boxes built once, every VM destroyed afterwards, the network rule checked.

Lab tests name their VMs ``test-*`` (``TEST_PREFIX``) so that they never touch a VM a person
brought up with ``invoke lab.up`` (instance ``main``), and ``lab.destroy NAME`` leaves theirs alone.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar
from contextlib import ExitStack, contextmanager

import pytest

from yarakashi import boxes, catalogue, hosts, kernlog, labnet, paths, providers
from yarakashi.coreseconds import CoreSeconds, spent
from yarakashi.machine import TEST_PREFIX, Machine
from yarakashi.progress import say

LIBVIRT = providers.get("libvirt")
T = TypeVar("T")
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
#: Domains this pytest process created: the only ones its teardown may remove (another
#: lane, or a person's ``lab.up``, may have VMs running at the same time).
CREATED: set[str] = set()


def main_namespace_links() -> dict[str, list[str]]:
    """Interfaces of the host's main namespace and their IPv4 addresses."""
    links = json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, check=True).stdout)
    return {
        link["ifname"]: [a["local"] for a in link.get("addr_info", []) if a.get("family") == "inet"]
        for link in links
    }


@pytest.fixture(scope="session", autouse=True)
def lab_session() -> Iterator[dict[str, list[str]]]:
    """Root, the lab network, and the boxes; afterwards: nothing left, main namespace unchanged."""
    if os.geteuid() != 0:
        pytest.fail("lab tests boot VMs and need root: ./run test")
    before = main_namespace_links()
    LIBVIRT.prepare()
    for plat in catalogue.platforms().values():
        if plat.offline:
            boxes.ensure(plat)
    yield before
    where = providers.get("libvirt", hosts.default())  # a lane on another host (./run test --host) made them there
    for dom in sorted(CREATED & set(where.vms(providers.GUEST_PREFIX))):
        say(f"removing leftover test VM {dom}")
        where.sweep(dom)
    # Under `invoke test` the lanes' parent owns the namespace; alone, the session does.
    if "YARAKASHI_LANE" not in os.environ and not LIBVIRT.vms(providers.GUEST_PREFIX):
        labnet.teardown()
    after = main_namespace_links()
    new = set(after) - set(before)
    assert not new, f"lab network leaked into the host's main namespace: new links {new}"
    for name, addrs in after.items():
        for addr in set(addrs) - set(before.get(name, [])):
            assert not any(ipaddress.ip_address(addr) in net for net in PRIVATE), f"{name} got {addr}"


@pytest.fixture(scope="session")
def guest_cpu() -> Iterator[CoreSeconds]:
    """The CPU time of the guests this process made (``CREATED``), watched for the whole session."""
    with CoreSeconds(lambda name: name in CREATED) as watch:
        yield watch


@pytest.fixture(autouse=True)
def core_seconds(guest_cpu: CoreSeconds, record_property: Callable[[str, object], None]) -> Iterator[None]:
    """Each lab test's core-seconds in the JUnit report: its guests' QEMU processes, and this
    process with the programs it waited for (Vagrant, ssh, a trainee's invoke)."""
    guest_cpu.look()
    guests, host = guest_cpu.guests(), spent()
    yield
    guest_cpu.look()
    record_property("core_seconds_guests", round(guest_cpu.guests() - guests))
    record_property("core_seconds_host", round(spent() - host))


@pytest.fixture(autouse=True)
def lab_properties(request: pytest.FixtureRequest, record_property: Callable[[str, object], None]) -> None:
    """The lab, platform and evidence level of each real-VM test, in the JUnit report."""
    lab = getattr(request.module, "LAB", None)
    if lab:
        record_property("lab", lab)
        plats = [p for p in catalogue.lab(lab).platforms if catalogue.platform(p).offline]
        record_property("platform", getattr(request.module, "PLATFORM", ", ".join(plats)))
        record_property("evidence", "verified")


class NoSession(AssertionError):
    """The guest did not answer one SSH session (it fails a test, unless a poll tries again)."""


def sh(vm: Machine, command: str, timeout: float = 120) -> str:
    """stdout of a root command in a new SSH session (no session, or a timeout, fails the test)."""
    done = vm.guest.ssh(f"sudo sh -c {shlex.quote(command)}", timeout)
    if done.returncode in (124, 255):
        raise NoSession(f"no SSH session: {done.stderr}")
    return done.stdout.strip()


def polled(probe: Callable[[], T]) -> Callable[[], T | None]:
    """``probe`` for :func:`wait_until`: one session the guest did not answer (a busy host, a
    guest still booting) means "not yet", not a failed test; the wait's own bound still ends it.

    >>> def stalled() -> str:
    ...     raise NoSession("no SSH session: Connection timed out during banner exchange")
    >>> polled(stalled)() is None and polled(lambda: "active")() == "active"
    True
    """
    def once() -> T | None:
        try:
            return probe()
        except (NoSession, kernlog.Unanswered) as exc:
            say(f"{exc}: trying again")
            return None
    return once


@contextmanager
def running_vm(lab: str, platform: str, instance: str) -> Iterator[Machine]:
    """A fresh VM (a leftover of an earlier run is removed first), destroyed by force after."""
    m = Machine(catalogue.lab(lab), catalogue.platform(platform), TEST_PREFIX + instance)
    CREATED.add(m.domain)
    m.destroy()
    try:
        m.up()
        yield m
    finally:
        m.destroy()


@pytest.fixture
def fresh_vm() -> Iterator[Callable[[str, str, str], Machine]]:
    """Factory of fresh VMs for one test: ``fresh_vm("rsync-dirlinks", "debian12-merged", "naive")``."""
    with ExitStack() as stack:
        yield lambda lab, plat, inst: stack.enter_context(running_vm(lab, plat, inst))


def invoke(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``invoke ARGS`` as a trainee (or a facilitator) runs it; its output shown as it was."""
    say(f"trainee: invoke {' '.join(args)}")
    done = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=paths.REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=3600)
    for line in (done.stdout + done.stderr).splitlines():
        sys.stdout.write(f"    | {line}\n")
    return done
