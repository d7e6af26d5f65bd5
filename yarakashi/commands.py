"""What each ``invoke`` task does; ``tasks.py`` only wires these to the command line.

>>> from yarakashi import commands
>>> commands.machines_of("rsync-dirlinks", None)[0].platform.name
'debian11-split'
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from yarakashi import YarakashiError, boxes, catalogue, checking, failures, guest, hosts, labnet, paths, providers, retest, timeline, vagrantfile, verdict, workshop
from yarakashi import corpus as corpus_lib
from yarakashi.machine import TEST_PREFIX, Machine, reboot_together, workdir_machines
from yarakashi.steps import StepRun
from yarakashi.progress import say


#: The name ``lab.destroy`` takes for every lab (no lab may be called so).
ALL = "all"


def machines_of(lab_name: str, platform: str | None, instance: str = "main", script: dict | None = None) -> list[Machine]:
    """The VMs a task acts on: one platform, or every offline platform of the lab.

    Ubuntu platforms download boxes and packages, so they are used only when named.
    """
    lab = catalogue.lab(lab_name)
    if platform:
        names = [catalogue.choose("platform", platform, lab.platforms, f"for lab {lab.name}")]
    else:
        names = offline_platforms(lab)
    return [Machine(lab, catalogue.platform(n), instance, script) for n in names]


def offline_platforms(lab: catalogue.Lab) -> list[str]:
    """The lab's platforms that run without internet (its default ones)."""
    return [p for p in lab.platforms if catalogue.platform(p).offline]


def check_platform(lab: catalogue.Lab, platform: str | None = None) -> str:
    """Where ``lab.check`` runs: ``platform`` (one of the lab's), else the lab's last offline platform.

    >>> check_platform(catalogue.lab("apparmor-cache"))
    'debian12-merged'
    """
    if platform:
        return catalogue.choose("platform", platform, lab.platforms, f"for lab {lab.name}")
    return offline_platforms(lab)[-1]


def existing(lab_name: str, platform: str | None, instance: str = "main") -> Machine:
    """The one VM of a lab a task means; ambiguous or absent VMs are an error."""
    if platform:
        return machines_of(lab_name, platform, instance)[0]
    found = [m for m in machines_of(lab_name, None, instance) if m.exists()]
    if len(found) != 1:
        choices = ", ".join(catalogue.lab(lab_name).platforms)
        raise YarakashiError(f"{len(found)} VMs of {lab_name} exist; name one with --platform ({choices})")
    return found[0]


def on_machine(m: Machine, machine: str | None) -> Machine:
    """``m`` (also called by the lab's host name, ``s2``), or the lab's other machine called
    ``machine`` (``s1``); another name is an error naming the lab's machines."""
    if not machine or machine in ("default", m.lab.hostname):
        return m
    found = {o.vm: o for o in m.others()}
    catalogue.choose("machine", machine, [m.lab.hostname or "default", *found], f"of lab {m.lab.name}")
    return found[machine]


def made(lab_name: str, platform: str | None, instance: str = "main") -> Machine:
    """:func:`existing`, and made: a task that acts inside the VM needs it up."""
    m = existing(lab_name, platform, instance)
    if not m.exists():
        raise YarakashiError(f"no VM of {lab_name} on {m.platform.name}: invoke lab.up {lab_name} first")
    return m


def lab_list() -> str:
    """The catalogue: each lab's story (English, Japanese), its platforms with their evidence,
    and the lifecycle every lab follows."""
    rows = []
    for lab in catalogue.labs().values():
        plats = ", ".join(f"{p} ({catalogue.platform(p).evidence})" for p in lab.platforms)
        size = f"level {lab.level or '?'}, about {lab.minutes} min" if lab.minutes else f"level {lab.level or '?'}"
        trainees = f"; trainees: {lab.alias}" if lab.alias else ""
        rows += [f"{lab.name:<16} {lab.title}", f"{'':<16} {lab.title_ja}", f"{'':<16} {size}; platforms: {plats}{trainees}", ""]
    rows.append("lifecycle: " + " -> ".join(catalogue.LIFECYCLE))
    return "\n".join(rows)


def trainee_list() -> str:
    """The catalogue as trainees see it: each lab by the name that says what the team saw, its
    situation (English, Japanese) and size; no cause, no fix.

    >>> print(trainee_list().splitlines()[0])  # doctest: +ELLIPSIS
    db-stops-after-reboot       The DB answered after every reboot test...
    """
    rows, width = [], max(len(lab.trainee_name) for lab in catalogue.labs().values()) + 2
    for lab in catalogue.labs().values():
        size = f"level {lab.level or '?'}, about {lab.minutes} min" if lab.minutes else f"level {lab.level or '?'}"
        rows += [f"{lab.trainee_name:<{width}}{lab.symptom or lab.title}", f"{'':<{width}}{lab.symptom_ja or lab.title_ja}",
                 f"{'':<{width}}{size}; start: ./run lab.start {lab.trainee_name}", ""]
    return "\n".join(rows).rstrip("\n")


def positive_int(option: str, text: str | int) -> int:
    """A command-line count: a whole number from 1 up, else a clear error.

    >>> positive_int("--repeat", "3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise YarakashiError(f"{option} must be a whole number from 1 up, not {text!r}")
    return value


def up(lab_name: str, platform: str | None) -> list[Machine]:
    """Bring up the lab's VMs (building missing boxes first); interrupted, it removes them all."""
    machines = machines_of(lab_name, platform)
    done: list[Machine] = []
    try:
        boxes.build_ahead([m.platform for m in machines])
        for m in machines:
            m.up()  # removes its own half-made VM
            done.append(m)  # its destroy removes its other machines too
            m.up_others()  # the lab's other servers, on the same network, named as the post names them
    except failures.Interrupted as exc:
        for m in done:
            m.destroy()
            exc.cleaned.append(f"VM {m.domain}")
        raise
    for m in machines:
        say(f"ready: {m.domain}  (ssh: ./run lab.ssh {lab_name} --platform {m.platform.name})")
        for other in m.others():
            say(f"ready: {other.domain}  ({other.vm}: ./run lab.ssh {lab_name} --platform {m.platform.name} --machine {other.vm})")
    return machines


def workshop_start(lab_name: str, platform: str | None, lang: str | None, start_timeout: int = 0,
                   trainee: str | None = None, host: str | None = None) -> str:
    """``lab.start``: the trainee's VM at the team's moment (on this machine, or on the libvirt
    ``host``); the brief and the clock line."""
    lab = catalogue.lab(lab_name)
    plat, instance, where = catalogue.platform(check_platform(lab, platform)), workshop.instance(trainee), hosts.parse(host)
    said = workshop.language(lang)
    before = Machine(lab, plat, instance)
    if before.exists() and before.runs_on != where:  # the trainee's earlier lab, removed where it runs
        before.destroy()
    m = Machine(lab, plat, instance, host=where)
    try:
        return workshop.start(m, said, start_timeout)
    except failures.Interrupted as exc:
        m.destroy()
        exc.cleaned.append(f"VM {m.domain}")
        raise


def workshop_reset(lab_name: str, platform: str | None, lang: str | None, trainee: str | None = None) -> str:
    """``lab.reset``: back to the moment ``lab.start`` saved."""
    return workshop.reset(_started(lab_name, platform, trainee), workshop.language(lang))


def workshop_hint(lab_name: str, platform: str | None, lang: str | None, trainee: str | None = None) -> str:
    """``lab.hint``: the next hint, counted."""
    return workshop.hint(_started(lab_name, platform, trainee), workshop.language(lang))


def _started(lab_name: str, platform: str | None, trainee: str | None = None) -> Machine:
    """The trainee's VM of a lab; none is an error that says how to start one."""
    instance = workshop.instance(trainee)
    if not any(m.exists() for m in machines_of(lab_name, platform, instance)):
        who = f" --trainee {trainee}" if trainee else ""
        raise YarakashiError(f"no lab VM of {lab_name}{who} here: start one with ./run lab.start {lab_name}{who}")
    return existing(lab_name, platform, instance)


def reboot(lab_name: str, platform: str | None, trainee: str | None = None) -> list[str]:
    """``lab.reboot``: the lab's VM (a trainee's) and its other machines that exist, rebooted for
    real at once; a line per machine with its new boot id."""
    m = existing(lab_name, platform, workshop.instance(trainee))
    every = [m, *(o for o in m.others() if o.exists())]
    return [f"{one.domain}: new boot id {boot}" for one, boot in zip(every, reboot_together(every))]


def run(lab_name: str, phase: str, platform: str | None, script: str | None, trainee: str | None = None,
        machine: str | None = None) -> StepRun:
    """Run a scripted phase (on the lab's ``machine``, ``s1``); ``script`` replaces the lab's own script for that phase."""
    lab = catalogue.lab(lab_name)
    catalogue.choose("step", phase, list(lab.steps), f"of lab {lab.name}")
    m = on_machine(existing(lab_name, platform, workshop.instance(trainee)), machine)
    if script:
        m.scripts[phase] = Path(script)
    return m.run(phase, check=False)


def check(
    lab_name: str, fixes: list[str], platform: str | None, keep: str = "never", fix_bound: int = checking.FIX_BOUND,
    instance: str = "check", verify_wait: int = 300, keep_state: bool = False, fresh: bool = False,
) -> list[verdict.Report]:
    """``lab.check``: each fix (none given: the lab's own) judged on ``platform``, a report each.

    How a trainee checks a solution, and how another project proves its procedure safe.
    ``keep_state``: keep the VM stopped with its saved state for the next check; ``fresh``:
    remove a kept one first.
    """
    lab = catalogue.lab(lab_name)
    plat = check_platform(lab, platform)
    chosen = [checking.Fix(Path(f), fix_bound) for f in fixes] or [checking.Fix(None, fix_bound)]
    if fresh:
        Machine(lab, catalogue.platform(plat), instance).destroy()
    return checking.check(lab.name, chosen, plat, keep, instance, verify_wait, keep_state=keep_state)


def check_mine(lab_name: str, platform: str | None, verify_wait: int = 300, trainee: str | None = None) -> verdict.Report:
    """``lab.check NAME --mine``: the trainee's own VM, their changes kept, through the lab's
    steps after the fix; in a workshop the time and hints used go into the report."""
    m = existing(lab_name, platform, workshop.instance(trainee))
    report = checking.check_here(m, verify_wait)
    s = workshop.session(m)
    if s:
        report.facts["workshop"] = {"minutes_used": s.elapsed(), "minutes": s.minutes, "hints": s.hints, "resets": s.resets,
                                    "trainee": workshop.trainee(m)}
        report.header.append(f"workshop: {workshop.status(m)}")
    return report


def corpus(lab_name: str, platform: str | None, only: str | None = None, instance: str = "corpus",
           verify_wait: int = 300, keep_state: bool = False) -> tuple[list[corpus_lib.Case], list[verdict.Report]]:
    """``lab.corpus``: every script of the lab's fix corpus (``only``: those whose name has it)
    through ``lab.check`` from one saved state; a line per script as it is judged."""
    lab = catalogue.lab(lab_name)
    cases = [c for c in corpus_lib.cases(lab.name) if not only or only in c.path.name]
    if not cases:
        names = ", ".join(c.path.name for c in corpus_lib.cases(lab.name)) or "none"
        raise YarakashiError(f"no corpus script of {lab.name} matches {only!r} (its scripts: {names})")
    plat = check_platform(lab, platform)

    def each(report: verdict.Report) -> None:
        case = cases[len(done)]
        done.append(report)
        say(f"{case.path.name}: {corpus_lib.line(case, report)}")

    done: list[verdict.Report] = []
    checking.check(lab.name, [c.fix for c in cases], plat, instance=instance, verify_wait=verify_wait, each=each,
                   keep_state=keep_state)
    return cases, done


def lab_retest(lab_name: str, platform: str | None, reboot: bool = True, bound: str | None = None) -> verdict.Report:
    """The organisers' reboot test on a lab's VM (lab.toml ``[retest]``): (passed, table)."""
    seconds = _bound(bound)
    m = made(lab_name, platform)
    facts = {"lab": m.lab.name, "platform": m.platform.name, "evidence": m.platform.evidence}
    return _retest(m, m.lab.retest, reboot, seconds, "lab.retest", facts)


def host_retest(
    host: str, ssh_config: str | None, services: list[str], data: str, data_written: str,
    reboot: bool = False, bound: str | None = None,
) -> verdict.Report:
    """The same test on any host ``ssh`` reaches (a team's own contest server): (passed, table)."""
    seconds = _bound(bound)
    config = Path(ssh_config).expanduser() if ssh_config else None
    if config and not config.is_file():
        raise YarakashiError(f"SSH config not found: {config}")
    spec = catalogue.Spec(tuple(services), data, data_written)
    return _retest(guest.Endpoint(host, config), spec, reboot, seconds)


def _bound(text: str | None) -> float | None:
    """``--bound``: seconds, a positive number (None: derived from the units' start timeouts).

    >>> _bound("960"), _bound(None)
    (960.0, None)
    """
    if text is None or text == "":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise YarakashiError(f"--bound must be a positive number of seconds, not {text!r}")
    return seconds


def _retest(target: retest.Target, spec: catalogue.Spec, reboot: bool, bound: float | None,
            kind: str = "retest", facts: dict[str, object] | None = None) -> verdict.Report:
    mode = "power off, cold start, then the checks" if reboot else "read-only: the checks on the current boot"
    say(f"retest of {target.name}: {mode}")
    start = time.monotonic()
    checks = retest.run(target, spec, reboot=reboot, bound=bound)
    return verdict.Report(kind, target.name, [(f"retest of {target.name} ({mode})", checks)],
                          facts={**(facts or {}), "reboot": reboot}, elapsed=time.monotonic() - start)


def sysrq(lab_name: str, key: str, platform: str | None) -> None:
    """Alt+SysRq+``key`` on the console of a lab's VM (it must exist)."""
    if len(key) != 1 or not key.isalnum() or not key.isascii():
        raise YarakashiError(f"a SysRq key is one letter or digit (f: call the OOM killer), not {key!r}")
    m = made(lab_name, platform)
    m.sysrq(key.lower())


def lab_timeline(lab_name: str, platform: str | None, out: str | None = None, trainee: str | None = None) -> str:
    """``lab.timeline``: the moments of the VM's current boot beside the post's lines, as a table
    (returned) and a self-contained HTML page with the picture (written to ``out``)."""
    lab = catalogue.lab(lab_name)
    if not lab.timeline:
        having = ", ".join(n for n, one in catalogue.labs().items() if one.timeline)
        raise YarakashiError(f"lab {lab.name} has no timeline marks ([[timeline]] in lab.toml); labs with them: {having}")
    m = made(lab_name, platform, workshop.instance(trainee))
    journals = {}
    for one in [m, *(o for o in m.others() if o.exists())]:  # s1's marks come from s1's journal
        with failures.step(f"reading the journal of {one.name}"):
            done = one.ssh(f"sudo -n {timeline.JOURNAL}", timeout=120)
            if done.returncode != 0:
                raise failures.ToolFailed(f"reading the journal of {one.name} failed: ssh exited {done.returncode}: "
                                          f"{failures.tail(done.stderr) or 'no output'}")
        journals["" if one is m else one.vm] = done.stdout
    found = timeline.moments(lab.timeline, journals)
    path = Path(out) if out else paths.WORK / "reports" / f"{lab.name}-{m.platform.name}-{m.instance}-timeline.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(timeline.page(lab, m.platform.name, found))
    return f"{timeline.table(found, 'en')}\n\n{timeline.table(found, 'ja')}\n\npicture: {path}"


def status() -> str:
    """Every lab VM this checkout knows, where it runs and its state (a trainee's time and hints),
    plus the lab network: the facilitator's view of a workshop."""
    rows = [f"{'LAB':<16} {'PLATFORM':<18} {'INSTANCE':<18} {'HOST':<16} STATE"]
    for lab in catalogue.labs():
        for m in workdir_machines(lab):
            if m.exists():
                kept = m.saved_state(checking.BEFORE_FIX)
                saved = f" (saved state {checking.BEFORE_FIX!r} of {kept['saved']})" if kept else ""
                session = workshop.status(m)
                rows.append(f"{lab:<16} {m.platform.name:<18} {m.instance:<18} {m.runs_on.name:<16} {m.state()}{saved}"
                            + (f"; workshop: {session}" if session else ""))
                rows += [f"{lab:<16} {m.platform.name:<18} {m.instance + ' (' + o.vm + ')':<18} {o.runs_on.name:<16} {o.state()}"
                         for o in m.others() if o.exists()]  # apparmor-cache's s1 beside s2
    rows.append(f"lab network: {labnet.mode()}")
    return "\n".join(rows)


def ssh(lab_name: str, platform: str | None, trainee: str | None = None, machine: str | None = None) -> None:
    """Open an interactive shell on a lab VM (the lab's ``machine``, ``s1``)."""
    m = on_machine(existing(lab_name, platform, workshop.instance(trainee)), machine)
    m.refresh_ssh_config()
    argv = m.guest.argv
    os.execvp(argv[0], argv)


def destroy(lab_name: str, trainee: str | None = None) -> None:
    """Hard-stop and remove a lab's VMs (``trainee``: that trainee's only); ``all``: every VM of
    this checkout, then libvirtd and the lab network unless another checkout still has VMs (those
    are left alone, and counted)."""
    everything = lab_name == ALL
    if not everything:
        lab_name = catalogue.choose("lab", catalogue.aliases().get(lab_name, lab_name), [*catalogue.labs(), ALL])
    only = workshop.instance(trainee) if trainee else None
    unreachable: list[str] = []
    for name in catalogue.labs() if everything else [lab_name]:
        for m in workdir_machines(name):
            # test-* VMs belong to a pytest run, which removes them itself; only `all` sweeps them.
            if (everything or not m.instance.startswith(TEST_PREFIX)) and only in (None, m.instance):
                try:
                    m.destroy()
                except failures.ToolFailed as exc:
                    if m.runs_on.local:
                        raise
                    say(f"{m.domain} on {m.runs_on.name} left as it is: {failures.tail(str(exc))}")  # the others go on
                    unreachable.append(f"{m.domain} ({m.runs_on.name})")
    if everything and not only:
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
    if unreachable:
        raise failures.ToolFailed(f"{len(unreachable)} lab VMs on other hosts could not be removed: {', '.join(unreachable)}; "
                                  "their work directories are kept: run lab.destroy again once the host answers")


def after_interrupt(exc: failures.Interrupted) -> None:
    """After an interrupt: stop libvirtd and the lab network again if this task started them
    and no VM is left."""
    if labnet.started_here and not providers.get("libvirt").vms(providers.GUEST_PREFIX) and labnet.teardown():
        exc.cleaned.append("the lab network")


def box_list() -> str:
    """The offline platforms and the state of their boxes."""
    rows = [f"{'PLATFORM':<18} {'BOX':<28} {'STATE':<8} {'EVIDENCE':<9} {'STANDS IN FOR':<14} OS"]
    for plat in catalogue.platforms().values():
        box = plat.box_for(plat.providers[0])
        rows.append(f"{plat.name:<18} {box:<28} {boxes.state(plat):<8} {plat.evidence:<9} {plat.stands_in_for:<14} {plat.os}")
    return "\n".join(rows)
