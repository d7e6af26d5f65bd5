"""Time the lab's expensive parts on this machine and write bench/results.md.

Run as root from the repo (VMs are booted, boxes rebuilt)::

    sudo .venv/bin/python bench/run.py                 # everything
    sudo .venv/bin/python bench/run.py boxes up        # some parts: boxes, up, reboot, pair, pair-1vcpu, trainees, steps, states, vcpus, corpus, rsync, apparmor, workshop, memory
    sudo .venv/bin/python bench/run.py suite           # per-test times of the last `invoke test`

Prints raw seconds and ratios; appends a dated section to bench/results.md with the machine
it ran on. Not a test: nothing here asserts.
"""

from __future__ import annotations

import platform as pyplatform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yarakashi import boxes, catalogue, corpus, model, paths, retest, suite  # noqa: E402
from yarakashi.app import checks, target  # noqa: E402
from yarakashi.machine import Machine  # noqa: E402
from yarakashi.progress import wait_until  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.md"
rows: list[tuple[str, float]] = []


def timed(what: str, fn: Callable[[], object]) -> float:
    start = time.monotonic()
    fn()
    took = time.monotonic() - start
    rows.append((what, took))
    print(f"[bench] {what}: {took:.1f} s", flush=True)
    return took


def machine_info() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    accel = "TCG (software)"
    return f"{cpu}, {len(__import__('os').sched_getaffinity(0))} cores, {mem} GiB, kernel {pyplatform.release()}, {qemu}, guests under {accel}"


def bench_boxes() -> None:
    for plat in [p for p in catalogue.platforms().values() if p.offline]:
        cold = timed(f"box.build {plat.name} (rebuild, .debs cached)", lambda: boxes.ensure(plat, force=True))
        cached = timed(f"box.build {plat.name} (inputs unchanged)", lambda: boxes.ensure(plat))
        print(f"[bench] ratio cached/rebuild {plat.name}: {cached / cold:.4f}")


def bench_up() -> None:
    lab = catalogue.lab("rsync-dirlinks")
    for plat in target.offline_platforms(lab):
        m, name = Machine(lab, plat, "bench"), plat.name
        m.destroy()
        timed(f"lab.up rsync-dirlinks --platform {name} (one VM, box in pool)", m.up)
        timed(f"lab.reboot ({name}, real reboot until SSH)", m.reboot)
        timed(f"lab.destroy ({name})", m.destroy)


def bench_reboot(times: int = 3) -> None:
    """One lab VM up, then real reboots back to SSH, each split into its phases: the shutdown
    (the previous boot's journal, first to last line after the reboot was asked for), the kernel
    with its initramfs and userspace up to ``graphical.target`` (``systemd-analyze``); the rest is
    firmware, boot loader, kernel decompression (none with a direct boot) and SSH answering."""
    lab = catalogue.lab("rsync-dirlinks")
    for plat in target.offline_platforms(lab):
        m, name = Machine(lab, plat, "bench-reboot"), plat.name
        m.destroy()
        try:
            timed(f"lab.up {name} (one VM to SSH)", m.up)
            for n in range(1, times + 1):
                took = timed(f"reboot to SSH {name} #{n}", m.reboot)
                down = m.guest.ssh("sudo journalctl -b -1 -o short-unix -q --no-pager | "
                             "awk '/Stopped target .*Graphical Interface/ {a=$1} END {print $1 - a}'").stdout.strip()
                analyze = m.guest.ssh("systemd-analyze").stdout
                kernel = re.search(r"([\d.]+)s \(kernel\)", analyze)
                user = re.search(r"([\d.]+)s \(userspace\)", analyze)
                if kernel and user and down:
                    rest = took - float(down) - float(kernel[1]) - float(user[1])
                    print(f"[bench] reboot {name} #{n}: shutdown {float(down):.1f} s, kernel and initramfs "
                          f"{kernel[1]} s, userspace {user[1]} s, the rest {rest:.1f} s", flush=True)
                    rows.extend([(f"  #{n} shutdown", float(down)), (f"  #{n} kernel and initramfs", float(kernel[1])),
                                 (f"  #{n} userspace to graphical.target", float(user[1])),
                                 (f"  #{n} firmware, loader, SSH answering", rest)])
        finally:
            m.destroy()


def bench_pair(cpus: int | None = None) -> None:
    """``lab.up`` of two labs alone, then both at once: does either slow past 1.5x? With
    ``cpus``, every guest gets that many vCPUs instead of its lab's own."""
    import dataclasses
    import threading

    labs = [catalogue.lab(name) for name in ("rsync-dirlinks", "memory-engine")]
    pair = [Machine(dataclasses.replace(lab, cpus=cpus or lab.cpus), catalogue.platform("debian12-merged"), "bench") for lab in labs]
    each = f", {cpus} vCPU each" if cpus else ""
    alone: dict[str, float] = {}
    try:
        for m in pair:
            m.destroy()
            alone[m.lab.name] = timed(f"lab.up {m.lab.name} alone (box in pool{each})", m.up)
            m.destroy()
        together: dict[str, float] = {}

        def up(m: Machine) -> None:
            start = time.monotonic()
            m.up()
            together[m.lab.name] = time.monotonic() - start

        threads = [threading.Thread(target=up, args=(m,)) for m in pair]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows.append((f"both at once, wall{each}", time.monotonic() - start))
        for name, took in together.items():
            rows.append((f"lab.up {name} beside the other{each}", took))
            print(f"[bench] ratio together/alone {name}: {took / alone[name]:.2f}")
    finally:
        for m in pair:
            m.destroy()


def bench_trainees(most: int = 8) -> None:
    """Idle trainee VMs on this host, added one at a time: does every trainee still get a new
    shell (SSH session running ``true``) in under 2 s? Stops past 2 s or at ``most``."""
    import os

    os.environ["YARAKASHI_MAX_GUESTS"] = str(most)  # the suite's cap (capacity.py) is for busy guests
    lab, plat = catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged")
    made: list[Machine] = []
    try:
        for n in range(1, most + 1):
            m = Machine(lab, plat, f"t-bench{n}")
            m.destroy()
            timed(f"lab.up of trainee VM {n} (the others idle)", m.up)
            made.append(m)
            time.sleep(20)  # the new guest's boot settles
            worst = 0.0
            for each in made:
                for _ in range(3):
                    start = time.monotonic()
                    answered = each.guest.ssh("true", timeout=30).returncode == 0
                    worst = max(worst, time.monotonic() - start if answered else float("inf"))
            rows.append((f"{n} trainee VMs: slowest new shell of {3 * n}", worst))
            print(f"[bench] {n} trainee VMs: slowest new shell {worst:.2f} s", flush=True)
            if worst > 2:
                break
    finally:
        for m in made:
            m.destroy()


def bench_steps() -> None:
    """One lab step (the fixed deploy) through a `vagrant provision` run and over one SSH session."""
    m = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "bench")
    m.destroy()
    m.up()
    try:
        vagrant = timed("a step through vagrant provision (upload, fix)",
                        lambda: m.vagrant().provision(provision_with=["upload", "fix"]))
        ssh = timed("the same step over one SSH session (tar upload, run-step.sh)", lambda: m.steps.run("fix"))
        print(f"[bench] ratio ssh/vagrant: {ssh / vagrant:.3f}")
    finally:
        m.destroy()


def bench_corpus() -> None:
    """Each lab's fix corpus from one saved state (one VM per lab)."""
    for lab in catalogue.labs():
        if corpus.cases(lab):
            timed(f"lab.corpus {lab} ({len(corpus.cases(lab))} scripts, one VM, each from the saved state)",
                  lambda: checks.run_corpus(target.resolve(lab, instance="bench")))


def bench_states() -> None:
    """Back to apparmor-cache's broken-after-reboot state: a saved running state resumed, against
    the way before (shut down, disks saved, hard stop + revert + cold start until SSH)."""
    m = Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "bench")
    m.destroy()
    try:
        m.up()
        m.steps.run("prepare"), m.steps.run("break", check=False), m.reboot()
        timed("save the running state (memory included)", lambda: m.states.save("live"))
        live = [timed(f"return to the running state, SSH answering ({n})", lambda: m.states.return_to("live")) for n in (1, 2, 3)]

        def cold_return() -> None:
            m.hv.hard_stop(m), m.hv.restore(m, "off"), m.hv.start(m)
            m.guest.wait_new_boot(None, what="up after the cold start", progress=m.console_size)

        timed("the way before: shut down and save the disks", lambda: (m.hv.shut_down(m), m.hv.snapshot(m, "off")))
        cold = [timed(f"the way before: revert + cold start until SSH ({n})", cold_return) for n in (1, 2)]
        print(f"[bench] ratio running-state/cold return: {sum(live) / len(live) / (sum(cold) / len(cold)):.3f}")
    finally:
        m.destroy()


def bench_vcpus() -> None:
    """One lab VM up to SSH, and a real reboot, with 1 and with 2 vCPUs (TCG: a thread per vCPU)."""
    import dataclasses

    lab = catalogue.lab("rsync-dirlinks")
    for cpus in (1, 2):
        m = Machine(dataclasses.replace(lab, cpus=cpus), catalogue.platform("debian12-merged"), f"bench-cpu{cpus}")
        m.destroy()
        try:
            timed(f"lab.up rsync-dirlinks debian12-merged, {cpus} vCPU", m.up)
            timed(f"real reboot until SSH, {cpus} vCPU", m.reboot)
            timed(f"the prepare step (the team's repository), {cpus} vCPU", lambda: m.steps.run("prepare"))
            timed(f"the fixed deploy step, {cpus} vCPU", lambda: m.steps.run("fix"))
        finally:
            m.destroy()


def bench_rsync() -> None:
    for plat in target.offline_platforms(catalogue.lab("rsync-dirlinks")):
        timed(f"lab.check rsync-dirlinks --platform {plat.name} (up, fixed deploy, verify, reboot, verify, destroy)",
              lambda: checks.check(target.resolve("rsync-dirlinks", plat.name, instance="bench"), []))


def bench_apparmor() -> None:
    timed("lab.check apparmor-cache (up, prepare, swap, reboot, fix, reboot, verify, destroy)",
          lambda: checks.check(target.resolve("apparmor-cache", instance="bench"), []))


def bench_workshop() -> None:
    """The apparmor-cache story in workshop mode; the real-timeout cycle is in `suite`."""
    timed("lab.test apparmor-cache --start-timeout 60 (whole story, workshop mode)",
          lambda: suite.lab_test("apparmor-cache", "--start-timeout 60"))


def bench_memory() -> None:
    """The memory-engine story on one VM, and the organisers' reboot test, read-only and cold."""
    lab = catalogue.lab("memory-engine")
    m = Machine(lab, catalogue.platform("debian12-merged"), "bench")
    m.destroy()

    def break_until_recovered() -> None:
        m.steps.run("break")

        def over() -> bool:
            states = m.guest.ssh("systemctl is-active yarakashi-alter mariadb", timeout=20).stdout.split()
            return len(states) == 2 and states[0] != "active" and states[1] == "active"

        wait_until("the ALTERs to end and SSH to answer again", over, timeout=600, interval=5)

    try:
        timed("lab.up memory-engine (one 1 GiB VM, box in pool)", m.up)
        timed("memory-engine prepare (MariaDB from the box, 2 x 24000 rows)", lambda: m.steps.run("prepare"))
        timed("memory-engine break until the OOM kill is over and SSH answers", break_until_recovered)
        timed("memory-engine initialize (rows into one MEMORY and one InnoDB table)", lambda: m.steps.run("initialize"))
        timed("memory-engine fix (back to InnoDB, rows again, indexes)", lambda: m.steps.run("fix"))
        ro = timed("retest read-only (healthy guest)", lambda: retest.run(m.guest, lab.retest))
        cold = timed("retest with power off + cold start (healthy guest)", lambda: retest.run(m.guest, lab.retest, power_cycle=m.power_cycle))
        print(f"[bench] ratio read-only/cold retest: {ro / cold:.2f}")
    finally:
        timed("lab.destroy memory-engine", m.destroy)


def bench_suite() -> None:
    """Per-test times of the last `invoke test` run (its junit reports), not a new run, with each
    lab test's core-seconds (its guests', its host side's) where the report has them."""
    import xml.etree.ElementTree as ET

    for xml in sorted((paths.WORK / "reports").glob("lane-*.xml")):
        for case in ET.parse(xml).getroot().iter("testcase"):
            if float(case.get("time", 0)) >= 1:
                props = {p.get("name"): p.get("value") for p in case.iter("property")}
                cores = (f" (core-seconds: guests {props['core_seconds_guests']}, host side {props['core_seconds_host']})"
                         if "core_seconds_guests" in props else "")
                rows.append((f"{xml.stem}: {case.get('name')}{cores}", float(case.get("time", 0))))


PARTS = {"boxes": bench_boxes, "up": bench_up, "pair": bench_pair, "pair-1vcpu": lambda: bench_pair(cpus=1), "trainees": bench_trainees, "steps": bench_steps, "states": bench_states, "vcpus": bench_vcpus,
         "corpus": bench_corpus, "rsync": bench_rsync, "reboot": bench_reboot,
         "apparmor": bench_apparmor,
         "workshop": bench_workshop, "memory": bench_memory, "suite": bench_suite}


def main(argv: list[str]) -> None:
    parts = argv or list(PARTS)
    for part in parts:
        PARTS[model.choose("part", part, list(PARTS))]()
    lines = [f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {', '.join(parts)}\n",
             f"Machine: {machine_info()}\n", "| what | seconds |", "|---|---|"]
    lines += [f"| {what} | {took:.1f} |" for what, took in rows]
    if not RESULTS.exists():
        RESULTS.write_text("# Measured times\n\nWritten by `bench/run.py`; newest last.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
