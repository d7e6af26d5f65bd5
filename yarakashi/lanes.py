"""Run the lab tests in parallel lanes, longest first: each test module, or, of a module
parametrized per lab (the fix corpus), each lab's case on its own.

Most of a lab test's time is waiting: a real reboot, or apparmor-cache's 15-minute
``TimeoutStartSec``. Two lanes let one lab's idle wait overlap another lab's work; more
would make TCG guests fight over 2 cores. Each lane is a pytest process whose output is
streamed with a ``[lane N]`` prefix (pytest-xdist would hide live progress).

Lanes may run on other libvirt hosts too (``./run test --host URI``): such a lane's VMs go to
its host (``YARAKASHI_HOST``), and it takes only modules that say they may (``ANY_HOST = True``:
they reach their guests through libvirt and SSH alone, no serial-console file, no libvirt here).

>>> [lane.units for lane in plan([("a.py", 5), ("b.py", 30), ("c.py", 10), ("d.py", 20)], lanes=2)]
[('b.py', 'a.py'), ('d.py', 'c.py')]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from yarakashi import YarakashiError, capacity, catalogue, failures, hosts, labnet, paths
from yarakashi.junit import NO_TESTS, critical_path, outcomes, unfinished, worst
from yarakashi.progress import say

#: Minutes a test module without a lab (or a lab without ``test_minutes``) is assumed to take.
DEFAULT_MINUTES = 10
#: A test module parametrized per lab names the lab.toml key of each lab's minutes
#: (``MINUTES_PER_LAB = "corpus_minutes"``): the lanes plan each lab's case as a unit.
PER_LAB = re.compile(r'^MINUTES_PER_LAB = "(\w+)"', re.M)
#: A module whose VMs may run on another libvirt host says so with this line.
ANY_HOST = re.compile(r"^ANY_HOST = True$", re.M)
#: Guests a lane runs at once, at most (apparmor-cache's s1 and s2): another host takes a lane
#: for each two of the guests it fits (``capacity.fits``).
GUESTS_PER_LANE = 2


@dataclass(frozen=True)
class Lane:
    """One pytest process of the suite: where its VMs go, and the units it runs in order."""

    host: hosts.Host
    units: tuple[str, ...]


def plan(units: list[tuple[str, float]], lanes: int, elsewhere: Sequence[hosts.Host] = (),
         anywhere: Callable[[str], bool] = lambda unit: False) -> list[Lane]:
    """Longest-processing-time-first: each unit (a module's path, or a test's node id) goes to
    the lane free soonest among those it may use: ``lanes`` lanes here, one more per entry of
    ``elsewhere`` (another host's lanes) for the units ``anywhere`` allows there.

    >>> ws2 = hosts.parse("qemu+ssh://ws2/system")
    >>> [(lane.host.name, lane.units) for lane in plan([("a.py", 30), ("b.py", 5)], 1, [ws2], lambda u: u == "b.py")]
    [('this machine', ('a.py',)), ('ws2', ('b.py',))]
    """
    slots = [hosts.Host()] * lanes + list(elsewhere)
    load = [0.0] * len(slots)
    out: list[list[str]] = [[] for _ in slots]
    for name, minutes in sorted(units, key=lambda m: -m[1]):
        free = [i for i, host in enumerate(slots) if host.local or anywhere(name)]
        if not free:
            raise YarakashiError(f"{Path(name.split('::')[0]).name} runs its VMs on this machine only (it has no "
                                 "'ANY_HOST = True' line) and no lane here is left for it: --lanes 1 or more")
        lane = min(free, key=lambda i: load[i])
        out[lane].append(name)
        load[lane] += minutes
    return [Lane(host, tuple(names)) for host, names in zip(slots, out) if names]


def may_run_elsewhere(unit: str) -> bool:
    """True when the unit's module has the ``ANY_HOST = True`` line."""
    return bool(ANY_HOST.search(Path(unit.split("::")[0]).read_text()))


def lanes_on(host: hosts.Host) -> int:
    """How many lanes another host takes: the guests its cores and memory fit (libvirt's
    ``virsh nodeinfo`` there), two a lane. A host that does not answer is one clear line."""
    info = labnet.virsh("nodeinfo", check=False, uri=host.libvirt_uri())
    cores = re.search(r"^CPU\(s\):\s+(\d+)", info.stdout, re.M)
    memory = re.search(r"^Memory size:\s+(\d+) KiB", info.stdout, re.M)
    if info.returncode or not cores or not memory:
        why = (info.stderr.strip().splitlines() or ["no CPU(s) and Memory size in virsh nodeinfo"])[-1]
        raise YarakashiError(f"--host {host.uri}: libvirt there does not answer: {why}")
    return max(1, capacity.fits(int(cores[1]), int(memory[1]) // 1024) // GUESTS_PER_LANE)


def spread(others: Sequence[hosts.Host], counts: Sequence[int]) -> list[hosts.Host]:
    """The other hosts' lanes, one of each host in turn: equal loads fill every host first.

    >>> [h.name for h in spread([hosts.parse("qemu+ssh://a/system"), hosts.parse("qemu+ssh://b/system")], [2, 1])]
    ['a', 'b', 'a']
    """
    return [host for round_ in range(max(counts, default=0)) for host, n in zip(others, counts) if round_ < n]


def units(directory: Path) -> list[tuple[str, float]]:
    """What the lanes run, with its expected minutes: each test module, by ``test_minutes`` in
    the lab's lab.toml or a ``TEST_MINUTES = N`` line in a module that is not a lab's; a module
    parametrized per lab (``MINUTES_PER_LAB``) is split into :func:`lab_cases`."""
    minutes = {f"test_{lab.name.replace('-', '_')}.py": lab.test_minutes for lab in catalogue.labs().values()}
    found = []
    for path in sorted(directory.glob("test_*.py")):
        text = path.read_text()
        per_lab = PER_LAB.search(text)
        if per_lab:
            found += lab_cases(path, per_lab[1])
            continue
        declared = re.search(r"^TEST_MINUTES = (\d+)", text, re.M)
        found.append((str(path), minutes.get(path.name) or (float(declared[1]) if declared else DEFAULT_MINUTES)))
    return found


def lab_cases(module: Path, key: str) -> list[tuple[str, float]]:
    """Each test of ``module`` as pytest collects it (``/.../test_corpus.py::test_x[memory-engine]``,
    a node id pytest runs alone), with the ``key`` minutes of the lab its id ends with; the whole
    module when it does not collect, so that its lane shows why."""
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(module)]
    done = subprocess.run(collect, cwd=paths.REPO, capture_output=True, text=True)
    if done.returncode not in (0, NO_TESTS):
        return [(str(module), DEFAULT_MINUTES)]
    labs = catalogue.labs()
    found = []
    for line in done.stdout.split("\n\n", 1)[0].splitlines():  # the node ids; a warnings summary may follow
        if "::" not in line:
            continue
        test = line.split("::", 1)[1]  # the node id's module part is relative to a rootdir; the lanes pass paths
        lab = labs.get(test.rpartition("[")[2].removesuffix("]"))
        if lab and not hasattr(lab, key):
            raise YarakashiError(f"{module}: MINUTES_PER_LAB is {key!r}, not a lab.toml key")
        found.append((f"{module}::{test}", getattr(lab, key, 0) or DEFAULT_MINUTES))
    return found


#: A lab VM back over SSH after a real reboot, as ``guest.await_new_boot`` says it.
BACK = re.compile(r" back from reboot: after (\d+) s$")


def reboot_summary(seconds: list[int]) -> str:
    """The suite's closing line on reboots: how long one took, from ``systemctl reboot`` to SSH.

    >>> reboot_summary([29, 63, 31, 30])
    'reboot to SSH: 30 s (the median of 4 real reboots; 29 to 63 s)'
    >>> reboot_summary([])
    'reboot to SSH: no real reboot ran'
    """
    if not seconds:
        return "reboot to SSH: no real reboot ran"
    ordered = sorted(seconds)
    return (f"reboot to SSH: {ordered[(len(ordered) - 1) // 2]} s (the median of {len(ordered)} real reboots; "
            f"{ordered[0]} to {ordered[-1]} s)")


def _pump(lane: int, proc: subprocess.Popen[str], reboots: list[int]) -> None:
    assert proc.stdout
    for line in proc.stdout:
        sys.stdout.write(f"[lane {lane}] {line}")
        sys.stdout.flush()
        found = BACK.search(line.rstrip("\n"))
        if found:
            reboots.append(int(found[1]))  # list.append is atomic: the lanes' pumps share it


def run(directory: Path, lanes: int, extra: list[str], deadline: float | None = None,
        others: Sequence[hosts.Host] = ()) -> tuple[int, dict[str, int]]:
    """Run the lanes, ``lanes`` here and those ``others`` (other libvirt hosts) take; return the
    worst exit code and the summed outcome counts.

    Past ``deadline`` (a ``time.monotonic()`` instant) the lanes are stopped as by Ctrl-C (their
    VMs removed), and what did not finish is named: exit 124."""
    elsewhere = spread(others, [lanes_on(host) for host in others])
    planned = plan(units(directory), lanes, elsewhere, may_run_elsewhere)
    groups = [lane.units for lane in planned]
    report_dir = paths.WORK / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    procs, pumps = [], []
    reboots: list[int] = []
    for n, lane in enumerate(planned, 1):
        where = "" if lane.host.local else f" (on {lane.host.name})"
        say(f"lane {n}{where}: {' '.join(Path(u).name for u in lane.units)}")
        xml = report_dir / f"lane-{n}.xml"
        xml.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "pytest", "-s", "-v", f"--junitxml={xml}", *lane.units, *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "YARAKASHI_LANE": str(n), "YARAKASHI_LAB_TESTS": "1",
               hosts.ENV: lane.host.uri}
        proc = subprocess.Popen(cmd, cwd=paths.REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append((proc, xml))
        pump = threading.Thread(target=_pump, args=(n, proc, reboots), daemon=True)
        pump.start()
        pumps.append(pump)
    try:
        codes = failures.wait_children([proc for proc, _ in procs], deadline=deadline)  # a killed lane: 128 + signal
        late = False
    except failures.DeadlinePassed:
        codes, late = [124], True
    for pump in pumps:
        pump.join()
    say(reboot_summary(reboots))
    totals = outcomes([xml for _, xml in procs])
    if late:
        for n, ((_, xml), group) in enumerate(zip(procs, groups), 1):
            left, last = unfinished(group, xml)
            say(f"lane {n} stopped at the deadline; did not run: {' '.join(left) or 'nothing'}"
                + (f" (and maybe the rest of {last})" if last else ""))
        return 124, totals
    for n, ((_, xml), code) in enumerate(zip(procs, codes), 1):
        if not xml.exists():  # killed before pytest wrote its report: its tests did not pass
            say(f"lane {n} ended without a report (exit {code}): counted as one failed test")
            totals["failed"] += 1
    say(critical_path([xml for _, xml in procs]))
    return worst(codes, sum(totals.values())), totals
