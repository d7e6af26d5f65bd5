"""One lab VM: a rendered Vagrantfile in its own work directory, driven by python-vagrant.

Vagrant's output is streamed to the terminal and appended to ``.work/logs/<lab>/<platform>-<instance>.log``,
which outlives the VM; the work directory goes with it.

>>> from yarakashi import catalogue
>>> m = Machine(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "naive")
>>> m.workdir.relative_to(paths.WORK).as_posix()
'rsync-dirlinks/debian12-merged-naive'
>>> m.log.relative_to(paths.WORK).as_posix()
'logs/rsync-dirlinks/debian12-merged-naive.log'
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import vagrant

from yarakashi import YarakashiError, boxes, capacity, catalogue, failures, guest, hosts, kernlog, paths, providers, vagrantfile, verdict
from yarakashi.progress import say
from yarakashi.teelog import tee, tee_cm
from yarakashi.steps import StepRun
from yarakashi.vagrantfile import GUEST_LAB_DIR

#: Instances whose name starts so are the test suite's (tests/lab/conftest.py).
TEST_PREFIX = "test-"

class Machine:
    """A lab VM: ``up``, run scripted phases, ``reboot`` for real, ``destroy`` by force."""

    def __init__(
        self,
        lab: catalogue.Lab,
        plat: catalogue.Platform,
        instance: str = "main",
        scripts: dict[str, Path] | None = None,
        hypervisor: providers.Provider | None = None,
        vm: str = "default",
        host: hosts.Host | None = None,
    ):
        catalogue.choose("platform", plat.name, lab.platforms, f"for lab {lab.name}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", instance):
            raise YarakashiError(f"instance name must be short lower-case words with '-', not {instance!r}")
        catalogue.choose("machine", vm, ["default", *(m.name for m in lab.machines)], f"of lab {lab.name}")
        #: Vagrant's name of the VM: ``default`` (the lab's own), or another machine of the lab (``s1``).
        self.vm = vm
        self.lab, self.platform, self.instance = lab, plat, instance
        self.scripts = dict(scripts or {})
        #: Seconds a step may run (``lab.check`` bounds the fix); past it the step is ended.
        self.bounds: dict[str, int] = {}
        self.workdir = paths.WORK / lab.name / f"{plat.name}-{instance}"
        #: Where it runs: this machine, or another libvirt host (``lab.start --host``, recorded
        #: in the work directory when rendered; a Machine made without ``host`` follows the record).
        self.runs_on = host if host is not None else hosts.recorded(self.workdir)
        self.provider = hypervisor.name if hypervisor else providers.select(plat)
        self.hv = hypervisor or providers.get(self.provider, self.runs_on)
        own = "" if vm == "default" else f"-{vm}"
        self.log = paths.WORK / "logs" / lab.name / f"{plat.name}-{instance}{own}.log"
        self.ssh_config_path = self.workdir / f"ssh_config{own}"
        #: The serial console: written by libvirt while the VM exists, then kept next to the log
        #: (None on another host: the file is there).
        self.serial_log = vagrantfile.serial_log(lab, plat, instance, vm) if self.runs_on.local else None
        self.kept_serial_log = self.log.with_suffix(".serial.log")
        self.guest = guest.Endpoint(vm, self.ssh_config_path, name=self.domain)

    def __repr__(self) -> str:
        return f"<Machine {self.lab.name} on {self.platform.name} ({self.instance}{'' if self.vm == 'default' else ', ' + self.vm})>"

    @property
    def name(self) -> str:
        """How reports name it: ``memory-engine/debian12-merged (main)``, ``... (main, s1)``."""
        return f"{self.lab.name}/{self.platform.name} ({self.instance}{'' if self.vm == 'default' else ', ' + self.vm})"

    @property
    def domain(self) -> str:
        """The hypervisor's name of the VM (libvirt domain, VirtualBox VM)."""
        return vagrantfile.prefix(self.lab, self.platform, self.instance) + self.vm

    def others(self) -> list["Machine"]:
        """The lab's other machines in the same Vagrantfile (the post's s1 beside s2)."""
        if self.vm != "default":
            return []
        return [Machine(self.lab, self.platform, self.instance, self.scripts, self.hv, m.name, self.runs_on)
                for m in self.lab.machines]

    def vagrant(self) -> vagrant.Vagrant:
        """python-vagrant for the work directory, its output streamed and logged."""
        env = {**os.environ, "VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_DEFAULT_PROVIDER": self.provider}
        tag = f"[{self.lab.name}/{self.platform.name}/{self.instance}] "
        return vagrant.Vagrant(
            root=str(self.workdir), env=env, out_cm=tee_cm(self.log, tag), err_cm=tee_cm(self.log, tag)
        )

    def render(self) -> Path:
        """Write the Vagrantfile into the work directory (the hypervisor made ready first)."""
        proxy = self.hv.prepare()
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = vagrantfile.render(self.lab, self.platform, self.instance, self.scripts, proxy, self.provider, self.bounds,
                                  self.runs_on)
        path = self.workdir / "Vagrantfile"
        path.write_text(text)
        hosts.record(self.workdir, self.runs_on)
        return path

    def exists(self) -> bool:
        """True when Vagrant has created this VM (its id file is there)."""
        return any((self.workdir / ".vagrant" / "machines" / self.vm).glob("*/id"))

    def up(self) -> None:
        """Build the box if needed, render, ``vagrant up``, and write the SSH config.

        A failed or interrupted ``up`` removes the half-made VM (the log stays).
        """
        boxes.ensure(self.platform, into=self.hv)
        self.render()
        start = time.monotonic()
        with failures.undo_on_failure(f"VM {self.domain}", self.destroy), self._place(), \
                failures.step(f"vagrant up of {self.name}", self.log):
            self.hv.prepare()  # again, holding the place: another checkout may have removed the network meanwhile
            # Said inside the step: whoever acts on this line (a test sending SIGINT) is in it.
            say(f"vagrant up: {self.lab.name} on {self.platform.name} ({self.instance}); log: {self.log}")
            self.vagrant().up(provider=self.provider, vm_name=self.vm)
            self.refresh_ssh_config()
        say(f"{self.domain} is up after {time.monotonic() - start:.0f} s")

    def up_others(self) -> list["Machine"]:
        """Bring up the lab's other machines beside this one (already up), on the same network,
        and name them all (:func:`introduce`): apparmor-cache's s1 finds s2 as ``s2``. Returns them.

        Each removes itself if its ``up`` fails; this machine's :meth:`destroy` removes them all.
        """
        others = self.others()
        for other in others:
            other.up()
        if others:
            introduce([self, *others])
        return others

    def _place(self) -> contextlib.AbstractContextManager[None]:
        """A place among this machine's running lab guests (``capacity``) while the VM is made or
        resumed; a VM on another host takes none here (that host's size is its facilitator's)."""
        if not self.runs_on.local:
            return contextlib.nullcontext()
        return capacity.place(self.domain, lambda: self.hv.running(providers.GUEST_PREFIX))

    def address(self) -> str:
        """The guest's address on the lab network (the ``HostName`` Vagrant gave for SSH)."""
        config = self.ssh_config_path.read_text() if self.ssh_config_path.is_file() else ""
        found = re.search(r"^\s*HostName\s+(\S+)", config, re.M)
        if not found:
            raise YarakashiError(f"{self.domain} has no address yet (is it up?)")
        return found.group(1)

    def refresh_ssh_config(self) -> Path:
        """Ask Vagrant for the guest's SSH settings (they change when the guest's IP does)."""
        with failures.step(f"vagrant ssh-config of {self.name}", self.log):
            return guest.write_ssh_config(self.vagrant().ssh_config(vm_name=self.vm), self.ssh_config_path)

    def run(self, phase: str, check: bool = True) -> StepRun:
        """Upload the lab's files and run a scripted phase (prepare, break, fix) as root, over SSH.

        Each step runs through ``provisioning/common/run-step.sh`` (as ``vagrant provision
        --provision-with PHASE`` would: the Vagrantfile has the same steps), straight over one
        SSH session: a Vagrant run costs tens of seconds of CPU under TCG. With ``check`` a
        failed step raises; without, the :class:`StepRun` says how it ended (a break may well
        leave the guest unable to finish the step cleanly; a trainee's fix may fail, and the
        verdict says so).
        """
        self.lab.script(phase, self.platform.name)
        step = next(s for s in vagrantfile.steps(self.lab, self.platform, self.scripts, self.bounds) if s.phase == phase)
        home = posixpath.dirname(GUEST_LAB_DIR)
        files = {posixpath.relpath(GUEST_LAB_DIR, home): paths.PROVISIONING}
        if step.upload:
            files[posixpath.relpath(step.script, home)] = Path(step.upload)
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in {
            "YK_LAB_DIR": GUEST_LAB_DIR, "YK_LAB": self.lab.name, "YK_PLATFORM": self.platform.name, "YK_PHASE": phase}.items())
        # Nothing in the guest gives the answer away: the step's own script and its lab's files go
        # up, no other step's or lab's, and all of it is removed once the step has run.
        command = (f"sudo -n env {env} bash {GUEST_LAB_DIR}/common/run-step.sh {phase} {shlex.quote(step.script)} {step.bound}"
                   f"; rc=$?; sudo -n rm -rf {GUEST_LAB_DIR} {shlex.quote(step.script)}; exit $rc")
        offset = self.log.stat().st_size if self.log.exists() else 0
        try:
            with failures.step(f"{phase} of {self.name}", self.log):
                say(f"running {phase} of {self.lab.name} on {self.platform.name} ({self.instance})")
                own = Path(step.upload) if step.upload else self.lab.script(phase, self.platform.name)
                self.guest.upload(home, files, leave_out=_not_sent(own, self.lab))
                with tee(self.log, f"[{self.lab.name}/{self.platform.name}/{self.instance}] ") as sink:
                    sink.write(f"==> default: running {phase}: {step.script}\n")
                    code = self.guest.stream(command, sink, step.bound + 120 if step.bound else None)
                if code != 0:
                    raise subprocess.CalledProcessError(code, ["ssh", "...", f"run-step.sh {phase}"])
        except failures.ToolFailed:
            if check:
                raise
        with self.log.open("rb") as fh:
            fh.seek(offset)
            ended = StepRun.from_log(phase, fh.read().decode(errors="replace"))
        if not ended:
            say(f"{ended.describe()} (tolerated)" if not check else ended.describe())
        return ended

    def verify(self, wait: int = 300) -> list[verdict.Check]:
        """Run the lab's read-only ``verify`` script in a new SSH session: its checks.

        ``wait`` bounds how long it waits for the boot to finish. A guest where no session
        opens fails a check of its own, with the reason.
        """
        own = self.lab.script("verify", self.platform.name)
        script = shlex.quote(f"{GUEST_LAB_DIR}/{own.resolve().relative_to(paths.PROVISIONING).as_posix()}")
        command = (f"sudo YK_LAB_DIR={GUEST_LAB_DIR} YK_VERIFY_JSON=1 YK_VERIFY_WAIT={int(wait)} bash {script}"
                   f"; rc=$?; sudo -n rm -rf {GUEST_LAB_DIR}; exit $rc")  # the checks say what a fix must do: gone after
        home = posixpath.dirname(GUEST_LAB_DIR)
        unable = "no new session can start: the guest cannot be checked or repaired over SSH"
        with failures.step(f"verify of {self.name}"):
            say(f"verify on {self.name} (waits up to {wait} s for the boot to finish)")
            try:  # the new session the organisers would open: the upload's
                self.guest.upload(home, {posixpath.relpath(GUEST_LAB_DIR, home): paths.PROVISIONING},
                                  leave_out=_not_sent(own, self.lab))
            except failures.ToolFailed as exc:
                return [verdict.Check("new SSH session", "opens", failures.tail(str(exc)) or "closed at once", False, unable)]
            done = self.ssh(command, timeout=wait + 120)
        if done.returncode in (124, 255):
            seen = "timed out" if done.returncode == 124 else done.stderr.strip() or "closed at once"
            return [verdict.Check("new SSH session", "opens", seen, False, unable)]
        return verdict.parse(done.stdout) or [verdict.Check(
            "verify script", "its checks", f"exit {done.returncode}: {failures.tail(done.stdout + done.stderr)}", False,
            "the verify script could not run")]

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in a new SSH session (rc 255: none started; 124: timed out)."""
        return self.guest.ssh(command, timeout)

    def testinfra(self):  # type: ignore[no-untyped-def]
        """A fresh testinfra host for the guest (``runs_on`` says which libvirt host runs the VM)."""
        return self.guest.testinfra()

    def pinned_shell(self) -> guest.PinnedShell:
        """A root shell opened now, which stays usable after the guest breaks."""
        return self.guest.pinned_shell()

    def boot_id(self) -> str | None:
        """The guest kernel's boot id, or None when no session can be opened."""
        return self.guest.boot_id()

    def reboot(self, timeout: float = guest.REBOOT_TIMEOUT) -> str:
        """A real reboot from inside the guest; returns the new boot id once SSH is back."""
        with failures.step(f"reboot of {self.name}"):
            return self.guest.reboot(timeout, self._refresh_quietly, self.console_size)

    def power_cycle(self, timeout: float = guest.REBOOT_TIMEOUT) -> str:
        """Power off (the power button, the plug after a grace time) and cold-start; the new
        boot id. Works on a guest that cannot run a command any more, too."""
        before = self.boot_id()
        with failures.step(f"power cycle of {self.domain}"):
            self.hv.power_cycle(self)
        return self.guest.wait_new_boot(before, timeout, self._refresh_quietly, progress=self.console_size)

    def save_state(self, name: str, key: str = "") -> None:
        """Save the running guest as ``name``, its memory with it (about a second; it goes on).

        :meth:`return_to` resumes exactly that moment of that boot: nothing is rebooted or
        skipped. ``key`` says what made the state (:func:`states.key`), for a later command.
        """
        with failures.step(f"saving the state {name!r} of {self.domain}"):
            boot = self.boot_id() or ""
            self.hv.snapshot(self, name)
        record = {"key": key, "boot": boot, "saved": time.strftime("%Y-%m-%d %H:%M:%S")}
        self._state_file(name).parent.mkdir(parents=True, exist_ok=True)
        self._state_file(name).write_text(json.dumps(record))
        say(f"{self.domain}: state {name!r} saved (running, boot {boot[:8]})")

    def saved_state(self, name: str) -> dict[str, str] | None:
        """What :meth:`save_state` recorded of ``name`` (key, boot, saved), if the VM still has it."""
        path = self._state_file(name)
        return json.loads(path.read_text()) if path.is_file() and self.exists() else None

    def return_to(self, name: str, timeout: float = 120) -> str:
        """Resume the running state saved as ``name`` (a stopped VM takes a place first); set
        its clock to the host's (it stood still while saved). Returns the boot id, the saved one."""
        record = self.saved_state(name)
        if record is None:
            raise YarakashiError(f"{self.domain} has no saved state {name!r}")
        with self._place(), failures.step(f"returning {self.domain} to the state {name!r}"):
            self.hv.prepare()
            self.hv.restore(self, name)
            boot = self.guest.wait_new_boot(None, timeout, what=f"answering in the state {name!r}", interval=1)
        if record["boot"] and boot != record["boot"]:
            raise failures.ToolFailed(f"{self.domain} came back in the state {name!r} on boot {boot[:8]}, "
                                      f"not the saved boot {record['boot'][:8]}")
        self.ssh(f"sudo -n date -u -s @{time.time():.0f}", timeout=30)
        say(f"{self.domain}: back in the state {name!r} (saved {record['saved']})")
        return boot

    def park(self) -> None:
        """Pull the plug on a VM kept for its saved states: defined, stopped, no CPU used."""
        with failures.step(f"stopping {self.domain}"):
            self.hv.hard_stop(self)

    def _state_file(self, name: str) -> Path:
        """What :meth:`save_state` recorded, one file per VM: s2 and s1 share the work directory."""
        return self.workdir / "states" / (f"{name}.json" if self.vm == "default" else f"{name}-{self.vm}.json")

    def sysrq(self, key: str) -> None:
        """Alt+SysRq+``key`` from the console, which works while SSH does not (``f``: OOM kill)."""
        with failures.step(f"Alt+SysRq+{key.upper()} on {self.domain}"):
            self.hv.sysrq(self, key)

    def console_size(self) -> int:
        """Bytes the serial console has printed so far (it grows while the guest boots)."""
        return self.serial_log.stat().st_size if self.serial_log and self.serial_log.exists() else 0

    def _refresh_quietly(self) -> None:
        """While a guest reboots: its address may change, and Vagrant may see none yet."""
        try:
            self.refresh_ssh_config()
        except failures.ToolFailed:
            pass

    def stat_offline(self, path: str) -> str:
        """Stop the VM and ``debugfs stat`` ``path`` on its disk, read from the host.

        For a guest that can no longer run a command: what is on its disk is the evidence.
        The guest's kernel writes out what it holds first (SysRq sync and read-only remount
        on the console), then the plug is pulled; the copy's journal is replayed before reading.
        """
        with failures.step(f"reading {path} from the stopped disk of {self.domain}"):
            return self.hv.read_offline(self, path)

    def save_evidence(self, dest: Path) -> dict[str, str]:
        """Keep what a FAIL leaves, in ``dest``: the step log, each recent boot's journal and this
        boot's kernel messages when a session opens, else the lab's ``offline_evidence`` paths read from the stopped disk.
        Returns ``{what: file}``."""
        dest.mkdir(parents=True, exist_ok=True)
        files = {"log": str(self.log)}
        if self.serial_log and self.serial_log.is_file():
            shutil.copyfile(self.serial_log, dest / "serial-console.log")
            files["serial console"] = str(dest / "serial-console.log")
        boots = self.ssh("sudo -n journalctl --list-boots --no-pager -q", timeout=60)
        if boots.returncode == 0:
            # The journal can lack kernel lines the ring buffer holds (yarakashi/kernlog.py).
            try:
                raw = kernlog.read(self)[1]
            except YarakashiError as exc:
                raw = f"{exc}\n"
            (dest / "kernel-this-boot.txt").write_text(raw)
            files["kernel messages of this boot (ring buffer and journal)"] = str(dest / "kernel-this-boot.txt")
            for offset in [line.split()[0] for line in boots.stdout.splitlines() if line.strip()][-3:]:
                got = self.ssh(f"sudo -n journalctl -b {offset} --no-pager -o short-precise | tail -n 5000", timeout=120)
                path = dest / f"journal-boot{offset}.txt"
                path.write_text(got.stdout)
                files[f"journal of boot {offset}"] = str(path)
        elif self.lab.offline_evidence:
            for guest_path in self.lab.offline_evidence:
                path = dest / f"offline-stat{guest_path.replace('/', '_')}.txt"
                try:
                    path.write_text(self.stat_offline(guest_path))
                except (failures.ToolFailed, providers.Unsupported) as exc:
                    path.write_text(f"could not be read: {exc}\n")
                files[f"stat {guest_path} (stopped disk)"] = str(path)
        say(f"evidence kept in {dest}")
        return files

    def state(self) -> str:
        """Vagrant's state of the VM (``running``, ``shutoff``, ``not_created``...)."""
        if not (self.workdir / "Vagrantfile").exists():
            return "not_created"
        return self.vagrant().status(vm_name=self.vm)[0].state or "unknown"

    def _until_gone(self) -> None:
        """Look again after the removal, and remove again: a ``vagrant up`` killed while it
        updated the domain may still have that definition on its way to libvirt (seen under
        load: an interrupted test's domain was back, stopped, after its removal)."""
        for _ in range(GONE_LOOKS):
            time.sleep(GONE_SETTLE)
            if self.domain not in self.hv.vms(self.domain):
                return
            say(f"{self.domain} is back after its removal (a late definition): removing it again")
            self.hv.remove(self)

    def destroy(self) -> None:
        """Hard-stop and remove the VM and its volume (the lab's other machines first: they
        share its work directory); a broken guest cannot power off."""
        for other in self.others():
            other.destroy()
        if (self.workdir / "Vagrantfile").exists() and self.exists():
            self.render()
            say(f"destroying {self.domain}")
            self.hv.hard_stop(self)
            self.hv.before_destroy(self)
            try:
                self.vagrant().destroy(vm_name=self.vm)
            except subprocess.CalledProcessError:
                pass
        self.hv.remove(self)
        self._until_gone()
        if self.vm == "default":
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.serial_log and self.serial_log.is_file():  # kept with the Vagrant log, which outlives the VM too
            self.kept_serial_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(self.serial_log, self.kept_serial_log)


def introduce(machines: list[Machine]) -> None:
    """Give each of a lab's machines its host name, and every one's address under its name in
    each ``/etc/hosts``, as a team's servers had them: the app on ``s1`` finds its database as ``s2``.

    The addresses are the lab network's, from Vagrant (libvirt's DHCP keeps them across reboots).
    """
    names = {m.vm: (m.lab.hostname or m.lab.name) if m.vm == "default" else m.vm for m in machines}
    hosts = "".join(f"{m.address()} {names[m.vm]}\n" for m in machines)
    for m in machines:
        script = (f"sed -i '/# yarakashi-lab$/d' /etc/hosts && printf %s {shlex.quote(hosts)} | sed 's/$/ # yarakashi-lab/' >> /etc/hosts"
                  f" && hostnamectl set-hostname {names[m.vm]}")
        with failures.step(f"naming the machines on {m.name}", m.log):
            done = m.ssh(f"sudo -n sh -c {shlex.quote(script)}", timeout=60)
            if done.returncode != 0:
                raise subprocess.CalledProcessError(done.returncode, ["ssh", m.domain, "/etc/hosts"], done.stdout, done.stderr)
    say("machines named: " + ", ".join(f"{names[m.vm]} ({m.address()})" for m in machines))


def reboot_together(machines: list[Machine]) -> list[str]:
    """A real reboot of each of a lab's machines at once, as the contest's portal rebooted all of a
    team's servers (rebooting s2 alone would close s1's pooled connections now, not at the
    timeout). Returns the new boot ids once every machine answers; a reboot that did not change
    the boot id is an error."""
    with ThreadPoolExecutor(len(machines)) as pool:
        befores = [m.boot_id() for m in machines]
        afters = list(pool.map(lambda m: m.reboot(), machines))
    for m, before, after in zip(machines, befores, afters):
        if not after or after == before:
            raise failures.ToolFailed(f"{m.domain} came back on the same boot ({before}): no real reboot")
    if len(machines) > 1:
        introduce(machines)  # libvirt's DHCP keeps each address; this makes sure of it
    return afters


#: After a removal: how long to wait before looking again, and how many times.
GONE_SETTLE, GONE_LOOKS = 2.0, 3


def _not_sent(own: Path, lab: catalogue.Lab) -> frozenset[Path]:
    """What a step of ``lab`` does not send to its guest: every step script but ``own`` (any
    lab's), the other labs' files, and what only the host uses."""
    scripts = {other.script(step, plat) for other in catalogue.labs().values() for plat in other.platforms
               for step in other.steps_for(plat)}
    others = {paths.PROVISIONING / name for name in catalogue.labs() if name != lab.name}
    return frozenset(scripts - {own} | others | {paths.PROVISIONING / "host", paths.PROVISIONING / "box"})


def workdir_machines(lab_name: str) -> list[Machine]:
    """Machines whose work directories exist under ``.work/<lab>/`` (any instance)."""
    lab = catalogue.lab(lab_name)
    base = paths.WORK / lab.name
    found = []
    for workdir in sorted(base.iterdir()) if base.exists() else []:
        plat = next((p for p in lab.platforms if workdir.name.startswith(p + "-")), None)
        if plat:
            found.append(Machine(lab, catalogue.platform(plat), workdir.name[len(plat) + 1 :]))
    return found
