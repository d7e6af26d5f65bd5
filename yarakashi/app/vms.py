"""A lab's VMs: bring them up, run a step, reboot them for real, SysRq, their status, remove them.

>>> [b.platform for b in box_list()][:2]
['debian11-split', 'debian12-merged']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yarakashi import YarakashiError, boxes, catalogue, checking, failures, labnet, model, providers, vagrantfile, workshop
from yarakashi.app.target import Target, existing, hold, machines, made
from yarakashi.machine import TEST_PREFIX, Machine, reboot_together, workdir_machines
from yarakashi.progress import say
from yarakashi.steps import StepRun


def up(t: Target) -> list[Machine]:
    """Bring up the lab's VMs (building missing boxes first) with its other servers; interrupted
    or cancelled, it removes them all."""
    made_ones: list[Machine] = []
    wanted = machines(t)
    try:
        boxes.build_ahead([m.platform for m in wanted])
        for m in wanted:
            with hold(m):
                m.up()  # removes its own half-made VM
                made_ones.append(m)  # its destroy removes its other machines too
                m.up_others()  # the lab's other servers, on the same network, named as the post names them
    except failures.Interrupted as exc:
        for m in made_ones:
            m.destroy()
            exc.cleaned.append(f"VM {m.domain}")
        raise
    for m in made_ones:
        say(f"ready: {m.domain}  (ssh: ./run lab.ssh {t.lab.name} --platform {m.platform.name})")
        for other in m.others():
            say(f"ready: {other.domain}  ({other.vm}: ./run lab.ssh {t.lab.name} --platform {m.platform.name} --machine {other.vm})")
    return made_ones


def run_step(t: Target, phase: str, script: str | None = None) -> StepRun:
    """Run a scripted step on the target's VM (its ``machine``: ``s1``); ``script`` replaces the
    lab's own script for it. How it ended is returned, not raised."""
    model.choose("step", phase, list(t.lab.steps), f"of lab {t.lab.name}")
    m = existing(t)
    if script:
        m.scripts[phase] = Path(script)
    with hold(m):
        return m.steps.run(phase, check=False)


def reboot(t: Target) -> list[tuple[Machine, str]]:
    """The lab's VM and its other machines that exist, rebooted for real at once; each with its new boot id."""
    m = existing(t)
    every = [m, *(o for o in m.others() if o.exists())]
    with hold(m):
        return list(zip(every, reboot_together(every)))


def sysrq(t: Target, key: str) -> None:
    """Alt+SysRq+``key`` on the console of the lab's VM (it must exist)."""
    if len(key) != 1 or not key.isalnum() or not key.isascii():
        raise YarakashiError(f"a SysRq key is one letter or digit (f: call the OOM killer), not {key!r}")
    made(t).sysrq(key.lower())


def ssh_argv(t: Target) -> list[str]:
    """The ``ssh`` command line of an interactive shell on the lab's VM (its ``machine``)."""
    m = existing(t)
    m.refresh_ssh_config()
    return m.guest.argv


@dataclass(frozen=True)
class Row:
    """One lab VM as the facilitator's status shows it."""

    lab: str
    platform: str
    instance: str
    host: str
    state: str
    saved: str = ""  # when its state before the fix was saved (lab.check keeps it)
    workshop: str = ""  # a trainee's time, hints and resets


def status() -> tuple[list[Row], str]:
    """Every lab VM of this checkout (its other servers after it) and the lab network's mode."""
    rows = []
    for lab in catalogue.labs():
        for m in workdir_machines(lab):
            if m.exists():
                kept = m.states.get(checking.BEFORE_FIX)
                rows.append(Row(lab, m.platform.name, m.instance, m.runs_on.name, m.state(), kept["saved"] if kept else "",
                                workshop.status(m)))
                rows += [Row(lab, m.platform.name, f"{m.instance} ({o.vm})", o.runs_on.name, o.state())
                         for o in m.others() if o.exists()]
    return rows, labnet.mode()


def destroy(lab: model.Lab | None, trainee: str | None = None) -> None:
    """Hard-stop and remove a lab's VMs (``trainee``: that trainee's only); ``None``: every VM of
    this checkout, then libvirtd and the lab network unless another checkout still has VMs.
    Holds no lock: it is the way out of anything, a stuck operation included. VMs on other
    hosts that do not answer are left, with their work directories, and named in the error."""
    only = workshop.instance(trainee) if trainee else None
    unreachable: list[str] = []
    for name in [lab.name] if lab else list(catalogue.labs()):
        for m in workdir_machines(name):
            # test-* VMs belong to a pytest run, which removes them itself; only `all` sweeps them.
            if (lab is None or not m.instance.startswith(TEST_PREFIX)) and only in (None, m.instance):
                try:
                    m.destroy()
                except failures.ToolFailed as exc:
                    if m.runs_on.local:
                        raise
                    say(f"{m.domain} on {m.runs_on.name} left as it is: {failures.tail(str(exc))}")  # the others go on
                    unreachable.append(f"{m.domain} ({m.runs_on.name})")
    if lab is None and not only:
        _sweep()
    if unreachable:
        raise failures.ToolFailed(f"{len(unreachable)} lab VMs on other hosts could not be removed: {', '.join(unreachable)}; "
                                  "their work directories are kept: run lab.destroy again once the host answers")


def _sweep() -> None:
    """Every leftover VM of this checkout, its serial consoles, then the lab network if no
    other checkout has VMs."""
    mine = vagrantfile.checkout_prefix()
    others = []
    for hv in map(providers.get, providers.installed()):
        for dom in hv.sweep(mine):
            say(f"removed leftover VM {dom}")
        others += hv.vms(providers.GUEST_PREFIX)
    for log in vagrantfile.SERIAL_DIR.glob(f"{mine}*.log"):  # serial consoles of VMs no Machine removed
        log.unlink(missing_ok=True)
    if others:
        say(f"left {len(others)} VMs of other checkouts alone; the lab network stays up for them")
    elif labnet.teardown():
        say("lab network removed")


def after_interrupt(exc: failures.Interrupted) -> None:
    """After an interrupt: stop libvirtd and the lab network again if this process started them
    and no VM is left."""
    if labnet.started_here and not providers.get("libvirt").vms(providers.GUEST_PREFIX) and labnet.teardown():
        exc.cleaned.append("the lab network")


@dataclass(frozen=True)
class Box:
    """An offline platform's box and its state."""

    platform: str
    box: str
    state: str
    evidence: str
    stands_in_for: str
    os: str


def box_list() -> list[Box]:
    """The offline platforms and the state of their boxes."""
    return [Box(p.name, p.box_for(p.providers[0]), boxes.state(p), p.evidence, p.stands_in_for, p.os)
            for p in catalogue.platforms().values()]
