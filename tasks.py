"""Invoke tasks: ``invoke --list``. Thin wiring: each task reads its names (resolved once, by
``app.target.resolve``), calls one operation of ``yarakashi.app`` and renders what it returns
(``yarakashi.cli``).

Examples::

    invoke lab.list
    invoke lab.up rsync-dirlinks --platform debian12-merged
    invoke lab.run rsync-dirlinks break --platform debian12-merged
    invoke lab.test rsync-dirlinks
    invoke lab.retest apparmor-cache
    invoke retest --host isu1 --service mysql.service
    invoke lab.destroy all
"""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Collection
from invoke.exceptions import Exit

from yarakashi import YarakashiError, boxes, catalogue, checking, cli, hosts, model, paths, suite, workshop
from yarakashi import corpus as corpus_lib
from yarakashi.app import checks, room, vms
from yarakashi.app.target import resolve
from yarakashi.cli import as_root, friendly, need_root, positive_int, task

PLATFORM = {"platform": "one of the lab's platforms (default: all of them, or the one that exists)"}


@task(name="list", help={"trainee": "the trainees' catalogue: each lab by what the team saw, no cause"})
@friendly
def lab_list(c, trainee=False, json=False):
    """List the labs, their platforms and story, and the lifecycle (--trainee: as trainees see them)."""
    print(cli.json_lines(room.catalogue_rows(trainee)) if json else cli.lab_list(trainee))


@task(help=PLATFORM)
@friendly
@as_root
def up(c, name, platform=None):
    """Bring up a lab's VMs, building missing boxes first: invoke lab.up rsync-dirlinks."""
    vms.up(resolve(name, platform))


LANG = {"lang": "en or ja (default: ja under a Japanese locale, else en)"}
TRAINEE = {"trainee": "a trainee's name (a-z, 0-9): several trainees on one host each have their own lab VM"}
HOST = {"host": "another libvirt host for this lab (a room that outgrows one machine): qemu+ssh://[USER@]HOST[:PORT]/system;"
                " later commands follow it (default: this machine)"}
MACHINE = {"machine": "another server of the lab, for a lab with several (apparmor-cache: s1, the app server)"}


@task(help={"platform": "one of the lab's platforms (default: its last offline one)", **LANG,
            "start_timeout": "workshop: shorten the lab's unit start timeout to N s (default: the real one)", **TRAINEE,
            **HOST})
@friendly
@as_root
def start(c, name, platform=None, lang=None, start_timeout=None, trainee=None, host=None):
    """Workshop: a new VM at the team's moment, saved; the trainee brief and the clock: invoke lab.start apparmor-cache."""
    seconds = positive_int("--start-timeout", start_timeout) if start_timeout else 0
    print(room.start(resolve(name, platform, trainee, host), workshop.language(lang), seconds))


@task(help={**PLATFORM, **LANG, **TRAINEE})
@friendly
@as_root
def reset(c, name, platform=None, lang=None, trainee=None):
    """Workshop: back to the moment lab.start saved, in seconds (clock and hints stay)."""
    print(room.reset(resolve(name, platform, trainee), workshop.language(lang)))


@task(help={**PLATFORM, **LANG, **TRAINEE})
@friendly
@as_root
def hint(c, name, platform=None, lang=None, trainee=None):
    """Workshop: the next hint for the lab (each one is counted)."""
    print(room.hint(resolve(name, platform, trainee), workshop.language(lang)))


@task(help={**PLATFORM, "step": "a step of the lab (lab.toml [steps])", "script": "run this script instead", **TRAINEE, **MACHINE})
@friendly
@as_root
def run(c, name, step, platform=None, script=None, trainee=None, machine=None):
    """Run a step of a lab on its VM: invoke lab.run rsync-dirlinks break --platform debian12-merged."""
    ended = vms.run_step(resolve(name, platform, trainee, machine=machine), step, script)
    if not ended:
        raise Exit(f"{ended.describe()} (for a break that may be the point); see the log above", code=1)


@task(iterable=["fix"], help={
    "fix": "FILE: your fix script (default: the lab's own); repeat --fix FILE to judge several from one saved state",
    "platform": "default: the lab's last offline platform", "keep": "keep the VM afterwards, to look inside",
    "keep_failed": "keep the VM when the (last) verdict is FAIL",
    "json": "print each verdict as one JSON object, one a line (JSON Lines)",
    "junit": "also write the verdicts as JUnit XML to this file",
    "fix_bound": f"seconds a fix may run before it is ended (default {checking.FIX_BOUND})",
    "fresh": "do not start from a state an earlier check kept: make it again on a new VM",
    "mine": "judge your own lab VM as you left it (lab.start / lab.up): a real reboot, the organisers' checks",
    "trainee": "with --mine: that trainee's lab VM"})
@friendly
@as_root
def check(c, name, fix=None, platform=None, keep=False, keep_failed=False, fix_bound=str(checking.FIX_BOUND), json=False,
          junit=None, fresh=False, mine=False, trainee=None):
    """Check a fix through real reboots, from the lab's state before the fix (kept for the next check):
    invoke lab.check apparmor-cache --fix my-fix.sh."""
    if mine and (fix or keep or keep_failed or fresh):
        raise Exit("error: --mine judges your VM as it is: no --fix, --keep, --keep-failed or --fresh with it", code=2)
    if trainee and not mine:
        raise Exit("error: --trainee goes with --mine (a --fix check runs on a VM of its own)", code=2)
    bound = positive_int("--fix-bound", fix_bound)
    mode = "always" if keep else "failed" if keep_failed else "never"
    on = resolve(name, platform, trainee)
    reports = [checks.check_mine(on)] if mine else checks.check(on, [Path(f) for f in fix or []], mode, bound, keep_state=True,
                                                                  fresh=fresh)
    cli.verdicts(reports, json, junit)


@task(help={"platform": "default: the lab's last offline platform", "only": "only the scripts whose name contains this",
            "junit": "also write the verdicts as JUnit XML to this file"})
@friendly
@as_root
def corpus(c, name, platform=None, only=None, junit=None):
    """Judge the lab's fix corpus (labs/NAME/fixes/): each script must PASS or FAIL as its header says."""
    on = resolve(name, platform)
    cases, reports = checks.run_corpus(on, only, keep_state=True)
    for case, report in zip(cases, reports):
        print(f"== {case.path.relative_to(paths.REPO)}\n{report.text()}\n")
    print(corpus_lib.summary(cases, reports))
    if junit:  # a case per script, passing when its verdict is the one its header expects
        corpus_lib.write_junit(on.lab.name, cases, reports, Path(junit))
    if any(corpus_lib.judge(case, report) for case, report in zip(cases, reports)):
        raise Exit(code=1)


@task(help={**PLATFORM, **TRAINEE})
@friendly
@as_root
def reboot(c, name, platform=None, trainee=None):
    """Reboot a lab's VMs for real (systemctl reboot; apparmor-cache: s2 and s1 at once) and wait until SSH answers again."""
    for m, boot in vms.reboot(resolve(name, platform, trainee)):
        print(f"{m.domain}: new boot id {boot}")


@task(help={**PLATFORM, "key": "the SysRq key: f calls the OOM killer, s syncs, b reboots at once"})
@friendly
@as_root
def sysrq(c, name, key, platform=None):
    """Alt+SysRq+KEY on a lab VM's console, for a guest SSH cannot reach: invoke lab.sysrq memory-engine f."""
    vms.sysrq(resolve(name, platform), key)


@task(help={**PLATFORM, **TRAINEE, "out": "the HTML page to write (default: .work/reports/LAB-PLATFORM-INSTANCE-timeline.html)"})
@friendly
@as_root
def timeline(c, name, platform=None, out=None, trainee=None):
    """The incident as a picture: this boot's moments beside the post's lines: invoke lab.timeline apparmor-cache."""
    print(cli.timeline_text(*room.timeline_of(resolve(name, platform, trainee), Path(out) if out else None)))


RETEST = {"bound": "seconds to wait for the boot to finish (default: the longest TimeoutStartSec that matters + 60)",
          "json": "print the verdict as one JSON object on one line", "junit": "also write the verdict as JUnit XML to this file"}


@task(help={**PLATFORM, **RETEST, "reboot": "power off and cold-start first (default); --no-reboot: read-only"})
@friendly
@as_root
def retest(c, name, platform=None, reboot=True, bound=None, json=False, junit=None):
    """The organisers' reboot test on a lab VM, PASS/FAIL per check: invoke lab.retest apparmor-cache."""
    cli.verdicts([checks.lab_retest(resolve(name, platform), reboot, cli.bound(bound))], json, junit)


@task(name="retest", iterable=["service"], help={
    **RETEST, "host": "an SSH host (an alias of your ssh config, or user@address)",
    "ssh_config": "ssh config file to use (default: ssh's own)", "service": "a unit that must be enabled and active (repeatable)",
    "data": "a command printing your data (run with sudo -n)", "data_written": "a file on the host with that output, saved earlier",
    "reboot": "reboot it first (sudo systemctl reboot); without it nothing on the host changes"})
@friendly
def host_retest(c, host, ssh_config=None, service=None, data="", data_written="", reboot=False, bound=None, json=False,
                junit=None):
    """The reboot test on your own server: invoke retest --host isu1 --service mysql --service nginx."""
    spec = model.Spec(tuple(service or []), data, data_written)
    config = Path(ssh_config).expanduser() if ssh_config else None
    cli.verdicts([checks.host_retest(host, config, spec, reboot, cli.bound(bound))], json, junit)


@task
@friendly
@as_root
def status(c, json=False):
    """Show every lab VM and the lab network."""
    print(cli.status_json() if json else cli.status())


@task(help={**PLATFORM, **TRAINEE, **MACHINE})
@friendly
@as_root
def ssh(c, name, platform=None, trainee=None, machine=None):
    """Open a shell on a lab VM: invoke lab.ssh apparmor-cache (the database server s2), --machine s1 (the app server)."""
    argv = vms.ssh_argv(resolve(name, platform, trainee, machine=machine))
    os.execvp(argv[0], argv)


@task(help={"name": "a lab, or 'all': every VM of this checkout, then libvirtd and the lab network unless another checkout has VMs",
            "trainee": "only that trainee's lab VMs"})
@friendly
@as_root
def destroy(c, name, trainee=None):
    """Hard-stop and remove a lab's VMs: invoke lab.destroy rsync-dirlinks (or: all)."""
    name = model.choose("lab", catalogue.aliases().get(name, name), [*catalogue.labs(), "all"])  # no lab may be called all
    vms.destroy(None if name == "all" else catalogue.lab(name), trainee)


@task(name="test", help={"pytest": "extra pytest arguments, quoted",
                         "platform": "an Ubuntu platform: observe and print next to the expected outcome",
                         "repeat": "run the lab's tests N times in a row (flakiness hunt); exit 1 unless all are green"})
@friendly
@as_root
def lab_test(c, name, pytest="", platform=None, repeat="1"):
    """Run a lab's whole cycle on real VMs, its offline platforms: invoke lab.test rsync-dirlinks."""
    code = suite.lab_test(name, pytest, platform, positive_int("--repeat", repeat))
    if code:
        raise Exit(code=code)


@task(name="build", help={"force": "rebuild even when the inputs did not change"})
@friendly
@as_root
def box_build(c, platform, force=False):
    """Build an offline box (debootstrap -> qcow2 -> vagrant box add); cached by input hash."""
    boxes.ensure(catalogue.platform(platform), force=force)


@task(name="remove")
@friendly
@as_root
def box_remove(c, platform):
    """Forget a built box (Vagrant's copy, the pool copies, the stamp) to reclaim disk."""
    boxes.forget(catalogue.platform(platform))


@task(name="list")
@friendly
def box_list(c, json=False):
    """List platforms and the state of their boxes."""
    print(cli.json_lines(vms.box_list()) if json else cli.box_list())


@task(name="test", iterable=["host"], help={
    "unit": "unit tests only (no VMs)", "lanes": "lab test processes on this machine (default 2; 0 with --host)",
    "host": "another libvirt host that takes lanes too, qemu+ssh://[USER@]HOST[:PORT]/system (repeatable)",
    "pytest": "extra pytest arguments, quoted",
    "deadline": f"seconds the whole run may take before it stops (default {suite.DEADLINE})"})
@friendly
def test_all(c, unit=False, lanes="2", host=None, pytest="", deadline=str(suite.DEADLINE)):
    """The test suite: unit tests, then every lab's real-VM tests in parallel lanes."""
    others = [hosts.parse(uri) for uri in host or []]
    if any(h.local for h in others):
        raise YarakashiError("--host names another libvirt host (qemu+ssh://...); this machine's lanes are --lanes")
    count = int(lanes) if lanes == "0" and others else positive_int("--lanes", lanes)
    seconds = positive_int("--deadline", deadline)
    if not unit:
        need_root()
    code = suite.test_suite(unit, count, suite.split_pytest_args(pytest), seconds, others)
    if code:
        raise Exit(code=code)


@task(name="plan", help={"roster": "the room's roster: a TOML file with [room] (name, lang) and a [[teams]] table per team (name, lab, keys)"})
@friendly
def room_plan(c, roster, json=False):
    """Check a workshop room's roster and say whether every team's servers run at once here: invoke room.plan room.toml."""
    plan = room.plan(Path(roster))
    print(cli.json_lines([plan]) if json else cli.room_plan(plan))


@task(name="open", help={"roster": "the room's roster (see room.plan)", "address": "the IP address the portal listens on (default 127.0.0.1)",
                         "port": "its port (default 8080)", "checks": "checks and re-tests that run at once (default: the host's cores)",
                         "ssh_port": "the port of the teams' SSH door, on the same address (default 2222)",
                         "ssh_host": "the host name teams type for the door (default: the address, or this host's name for 0.0.0.0)"})
@friendly
@as_root
def room_open(c, roster, address="127.0.0.1", port="8080", checks=None, ssh_port="2222", ssh_host=None):
    """Open a workshop room: a page per team, the facilitator's board, the teams' SSH door, served until Ctrl-C: invoke room.open room.toml."""
    from yarakashi.portal import serve

    serve.serve(Path(roster), address, port, positive_int("--checks", checks) if checks else None, ssh_port, ssh_host)


@task
@friendly
@as_root
def setup(c):
    """Install what the host needs (Debian packages, .venv, host marker): ./run does it first anyway."""
    c.run(str(paths.PROVISIONING / "host" / "setup.sh"), pty=False)


lab = Collection("lab", lab_list, up, start, reset, hint, run, check, corpus, reboot, retest, sysrq, timeline, status, ssh,
                 destroy, lab_test)
box = Collection("box", box_build, box_list, box_remove)
rooms = Collection("room", room_plan, room_open)
ns = Collection(lab, box, rooms, test_all, host_retest, setup)
