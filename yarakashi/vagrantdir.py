"""One lab VM as Vagrant knows it: its names, its work directory (Vagrantfile, SSH config, log),
where it runs and through which provider. What the VM does is :class:`~yarakashi.machine.Machine`'s.

>>> from yarakashi import catalogue
>>> d = VagrantDir(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "naive")
>>> d.workdir.relative_to(paths.WORK).as_posix(), d.log.relative_to(paths.WORK).as_posix()
('rsync-dirlinks/debian12-merged-naive', 'logs/rsync-dirlinks/debian12-merged-naive.log')
>>> d.name
'rsync-dirlinks/debian12-merged (naive)'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import vagrant

from yarakashi import YarakashiError, failures, guest, hosts, model, paths, providers, vagrantfile
from yarakashi.teelog import tee_cm


class VagrantDir:
    """A lab VM's Vagrant work directory: render its Vagrantfile, ask Vagrant for its state and
    SSH settings. ``vm``: Vagrant's name of the VM, ``default`` (the lab's own) or another
    machine of the lab (``s1``)."""

    def __init__(
        self,
        lab: model.Lab,
        plat: model.Platform,
        instance: str = "main",
        scripts: dict[str, Path] | None = None,
        hypervisor: providers.Provider | None = None,
        vm: str = "default",
        host: hosts.Host | None = None,
    ):
        model.choose("platform", plat.name, lab.platforms, f"for lab {lab.name}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", instance):
            raise YarakashiError(f"instance name must be short lower-case words with '-', not {instance!r}")
        model.choose("machine", vm, ["default", *(m.name for m in lab.machines)], f"of lab {lab.name}")
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

    def _refresh_quietly(self) -> None:
        """While a guest reboots: its address may change, and Vagrant may see none yet."""
        try:
            self.refresh_ssh_config()
        except failures.ToolFailed:
            pass

    def state(self) -> str:
        """Vagrant's state of the VM (``running``, ``shutoff``, ``not_created``...)."""
        if not (self.workdir / "Vagrantfile").exists():
            return "not_created"
        return self.vagrant().status(vm_name=self.vm)[0].state or "unknown"
