"""One lab VM's life, driven through python-vagrant and its provider: made, rebooted for real,
power-cycled, stopped, removed; a lab's several servers made, named and rebooted together.

Vagrant's output is streamed to the terminal and appended to ``.work/logs/<lab>/<platform>-<instance>.log``,
which outlives the VM; the work directory (:class:`~yarakashi.vagrantdir.VagrantDir`) goes with it.

>>> from yarakashi import catalogue
>>> m = Machine(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "naive")
>>> [o.name for o in m.others()], m.steps.m is m
(['apparmor-cache/debian12-merged (naive, s1)'], True)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import shlex
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from yarakashi import boxes, capacity, catalogue, failures, paths, providers
from yarakashi.guest import REBOOT_TIMEOUT, Endpoint
from yarakashi.states import Saved
from yarakashi.steps import Runner
from yarakashi.progress import say
from yarakashi.vagrantdir import VagrantDir

#: Instances whose name starts so are the test suite's (tests/lab/conftest.py).
TEST_PREFIX = "test-"


class Machine(VagrantDir):
    """A lab VM's life through its provider: ``up``, ``reboot`` for real, ``power_cycle``,
    ``destroy`` by force. Its guest over SSH is ``m.guest``, its scripted steps ``m.steps``
    (``m.steps.run("break")``), its saved running states ``m.states``."""

    @functools.cached_property
    def guest(self) -> Endpoint:
        """The guest over SSH: commands, uploads, testinfra, a real reboot."""
        return Endpoint(self.vm, self.ssh_config_path, name=self.domain)

    @functools.cached_property
    def steps(self) -> Runner:
        """The lab's scripted steps on this VM: ``m.steps.run("break")``, ``m.steps.verify()``."""
        return Runner(self)

    @functools.cached_property
    def states(self) -> Saved:
        """Its saved running states: ``m.states.save(name)``, ``m.states.return_to(name)``."""
        return Saved(self)

    @property
    def server_name(self) -> str:
        """The name the team knew this server by (``s1``, ``s2``): its host name in a workshop."""
        return self.lab.server_names[0] if self.vm == "default" else self.vm

    def others(self) -> list["Machine"]:
        """The lab's other machines in the same Vagrantfile (the post's s1 beside s2)."""
        if self.vm != "default":
            return []
        return [Machine(self.lab, self.platform, self.instance, self.scripts, self.hv, m.name, self.runs_on)
                for m in self.lab.machines]

    def up(self) -> None:
        """Build the box if needed, render, ``vagrant up``, and write the SSH config.

        A failed or interrupted ``up`` removes the half-made VM (the log stays).
        """
        boxes.ensure(self.platform, into=self.hv)
        start = time.monotonic()
        with failures.undo_on_failure(f"VM {self.domain}", self.destroy), self._place(), \
                failures.step(f"vagrant up of {self.name}", self.log):
            # Made ready while holding the place: another checkout may have removed the network before.
            self.render()
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

    def reboot(self, timeout: float = REBOOT_TIMEOUT) -> str:
        """A real reboot from inside the guest; returns the new boot id once SSH is back."""
        with failures.step(f"reboot of {self.name}"):
            return self.guest.reboot(timeout, self._refresh_quietly, self.console_size)

    def power_cycle(self, timeout: float = REBOOT_TIMEOUT) -> str:
        """Power off (the power button, the plug after a grace time) and cold-start; the new
        boot id. Works on a guest that cannot run a command any more, too."""
        before = self.guest.boot_id()
        with failures.step(f"power cycle of {self.domain}"):
            self.hv.power_cycle(self)
        return self.guest.wait_new_boot(before, timeout, self._refresh_quietly, progress=self.console_size)

    def park(self) -> None:
        """Pull the plug on a VM kept for its saved states: defined, stopped, no CPU used."""
        with failures.step(f"stopping {self.domain}"):
            self.hv.hard_stop(self)

    def sysrq(self, key: str) -> None:
        """Alt+SysRq+``key`` from the console, which works while SSH does not (``f``: OOM kill)."""
        with failures.step(f"Alt+SysRq+{key.upper()} on {self.domain}"):
            self.hv.sysrq(self, key)

    def console_size(self) -> int:
        """Bytes the serial console has printed so far (it grows while the guest boots)."""
        return self.serial_log.stat().st_size if self.serial_log and self.serial_log.exists() else 0

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
            self.hv.prepare()  # libvirtd and the lab network, which Vagrant needs to remove the VM
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
    names = {m.vm: m.server_name for m in machines}
    hosts = "".join(f"{m.address()} {names[m.vm]}\n" for m in machines)
    for m in machines:
        script = (f"sed -i '/# yarakashi-lab$/d' /etc/hosts && printf %s {shlex.quote(hosts)} | sed 's/$/ # yarakashi-lab/' >> /etc/hosts"
                  f" && hostnamectl set-hostname {names[m.vm]}")
        with failures.step(f"naming the machines on {m.name}", m.log):
            done = m.guest.ssh(f"sudo -n sh -c {shlex.quote(script)}", timeout=60)
            if done.returncode != 0:
                raise subprocess.CalledProcessError(done.returncode, ["ssh", m.domain, "/etc/hosts"], done.stdout, done.stderr)
    say("machines named: " + ", ".join(f"{names[m.vm]} ({m.address()})" for m in machines))


def reboot_together(machines: list[Machine]) -> list[str]:
    """A real reboot of each of a lab's machines at once, as the contest's portal rebooted all of a
    team's servers (rebooting s2 alone would close s1's pooled connections now, not at the
    timeout). Returns the new boot ids once every machine answers; a reboot that did not change
    the boot id is an error."""
    callers = [contextvars.copy_context() for _ in machines]  # each thread reports to this one's caller
    with ThreadPoolExecutor(len(machines)) as pool:
        befores = [m.guest.boot_id() for m in machines]
        afters = list(pool.map(lambda pair: pair[0].run(pair[1].reboot), zip(callers, machines)))
    for m, before, after in zip(machines, befores, afters):
        if not after or after == before:
            raise failures.ToolFailed(f"{m.domain} came back on the same boot ({before}): no real reboot")
    if len(machines) > 1:
        introduce(machines)  # libvirt's DHCP keeps each address; this makes sure of it
    return afters


#: After a removal: how long to wait before looking again, and how many times.
GONE_SETTLE, GONE_LOOKS = 2.0, 3


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
