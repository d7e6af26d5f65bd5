"""A model of the suite's wall time against the number of libvirt hosts (``./run test --host``),
from what one run measured: each lane unit's seconds and core-seconds in its JUnit report.

    .venv/bin/python bench/hosts.py                          # .work/reports/suite.xml
    .venv/bin/python bench/hosts.py /path/to/suite.xml 4     # up to 4 hosts

Each host is taken to be this machine's size (its lanes: ``lanes.lanes_on``'s rule, two here).
The units go to lanes as ``lanes.plan`` places them: a module without ``ANY_HOST = True`` only
to this machine's lanes. A host's wall is the longest of its lanes, and no less than its units'
core-seconds over its cores (TCG guests are CPU-bound). A unit on another host takes
``ELSEWHERE`` times its seconds here. With one host, the model is checked against the run's own
lanes. A second column: were every module allowed on other hosts.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yarakashi import capacity, hosts, lanes, paths  # noqa: E402

LAB_TESTS = paths.REPO / "tests" / "lab"
#: A unit on another host takes this many times its seconds here: its VMs boot through GRUB (no
#: direct boot there) and every SSH session goes through that host. Measured: two corpus cases took
#: 1,055 s in a lane on a namespaced libvirtd, 769 s in a suite's lanes here (bench/results.md).
ELSEWHERE = 1.37


def measured(report: Path) -> dict[str, tuple[float, float]]:
    """Each lane unit of the report's lab tests: (seconds, core-seconds of its guests and host side)."""
    found: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for case in ET.parse(report).getroot().iter("testcase"):
        package, _, module = case.get("classname", "").rpartition(".")
        if package != "tests.lab":
            continue  # a unit test, a doctest
        path = str(LAB_TESTS / f"{module}.py")
        unit = f"{path}::{case.get('name')}" if lanes.PER_LAB.search(Path(path).read_text()) else path
        props = {p.get("name"): float(p.get("value", 0)) for p in case.iter("property")
                 if p.get("name", "").startswith("core_seconds")}
        found[unit][0] += float(case.get("time", 0))
        found[unit][1] += sum(props.values())
    return {unit: (t, c) for unit, (t, c) in found.items()}


def wall(units: dict[str, tuple[float, float]], count: int, per_host: int, cores: int, anywhere: bool) -> float:
    """The modelled wall time of ``count`` hosts of ``per_host`` lanes and ``cores`` cores each."""
    others = [hosts.parse(f"qemu+ssh://host{n}/system") for n in range(2, count + 1)]
    planned = lanes.plan([(u, t) for u, (t, _) in units.items()], per_host, lanes.spread(others, [per_host] * len(others)),
                         (lambda u: True) if anywhere else lanes.may_run_elsewhere)
    by_host: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for lane in planned:
        slower = 1 if lane.host.local else ELSEWHERE
        host = by_host[lane.host.name]
        host[0] = max(host[0], slower * sum(units[u][0] for u in lane.units))
        host[1] += slower * sum(units[u][1] for u in lane.units)
    return max(max(longest, core_seconds / cores) for longest, core_seconds in by_host.values())


def main(argv: list[str]) -> None:
    report = Path(argv[0]) if argv else paths.WORK / "reports" / "suite.xml"
    most = int(argv[1]) if len(argv) > 1 else 4
    units = measured(report)
    cores = len(os.sched_getaffinity(0))
    mem_mib = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    per_host = max(1, capacity.fits(cores, mem_mib) // lanes.GUESTS_PER_LANE)
    lane_walls = [float(s.get("time", 0)) for s in ET.parse(report).getroot().iter("testsuite")]
    print(f"{report}: {len(units)} lane units, {sum(t for t, _ in units.values()):.0f} s in all, "
          f"{sum(c for _, c in units.values()):.0f} core-seconds; hosts of {cores} cores, {per_host} lanes each")
    print(f"measured: the longest lane {max(lane_walls[1:] or lane_walls):.0f} s (the unit tests' run excluded)")
    print("hosts  wall (s), modules as marked  wall (s), every module anywhere")
    for count in range(1, most + 1):
        print(f"{count:>5}  {wall(units, count, per_host, cores, False):>26.0f}  "
              f"{wall(units, count, per_host, cores, True):>33.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
