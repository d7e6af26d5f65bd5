"""Render ``Vagrantfile.j2`` for one lab VM and check it with ``vagrant validate``.

>>> from yarakashi import catalogue, vagrantfile
>>> text = vagrantfile.render(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "main")
>>> 'config.vm.box = "yarakashi/debian12-merged"' in text
True
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from yarakashi import YarakashiError, boxes, hosts, model, paths, providers

#: Where the upload provisioner puts ``provisioning/`` in the guest.
GUEST_LAB_DIR = "/home/vagrant/yarakashi"
#: Where a step script from outside ``provisioning/`` (a trainee's fix) is uploaded.
GUEST_STEP_DIR = "/home/vagrant/yarakashi-steps"
#: Seconds Vagrant waits for a guest to boot; TCG boots take 30-120 s, two VMs at once more.
BOOT_TIMEOUT = 900
#: Where libvirt writes each lab VM's serial console (a root-owned path QEMU can always reach).
SERIAL_DIR = Path("/var/log/yarakashi/serial")
#: The same on another libvirt host (``hosts``): libvirt's own log directory, which every libvirt
#: host has (Debian's libvirt-daemon-system makes it); the file stays there.
REMOTE_SERIAL_DIR = Path("/var/log/libvirt/qemu")


def serial_log(lab: model.Lab, plat: model.Platform, instance: str, vm: str = "default") -> Path:
    """The host file a lab VM's serial console is written to while it exists.

    >>> from yarakashi import catalogue
    >>> serial_log(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"), "main").name.endswith("-main-default.log")
    True
    """
    return SERIAL_DIR / f"{prefix(lab, plat, instance)}{vm}.log"


@dataclass(frozen=True)
class Guest:
    """One VM of the rendered Vagrantfile: the lab's own (``default``) or another machine."""

    name: str
    memory: int
    cpus: int
    serial_log: str
    primary: bool
    boot: boxes.DirectBoot | None = None


def guests(lab: model.Lab, plat: model.Platform, instance: str, remote: bool = False) -> list[Guest]:
    """The VMs of the lab's Vagrantfile, its own first; only that one starts with a bare ``vagrant up``.
    ``remote``: on another libvirt host, whose serial console files are written there.

    >>> from yarakashi import catalogue
    >>> [g.name for g in guests(catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged"), "main")]
    ['default', 's1']
    """
    def serial(vm: str) -> str:
        local = serial_log(lab, plat, instance, vm)
        return str(REMOTE_SERIAL_DIR / f"{local.stem}-serial.log" if remote else local)

    # Another host has no copy of the kernel and initrd: its VMs boot through the disk's GRUB.
    boot = None if remote else boxes.direct_boot(plat)
    own = Guest("default", lab.memory, lab.cpus, serial("default"), True, boot)
    return [own, *(Guest(m.name, m.memory, m.cpus, serial(m.name), False, boot) for m in lab.machines)]


def libvirt_driver() -> str:
    """``qemu`` (software, TCG; the default) or ``kvm`` where hardware virtualisation works.

    Set ``YARAKASHI_ACCEL=kvm`` on a laptop or server whose KVM works.
    """
    accel = os.environ.get("YARAKASHI_ACCEL", "tcg")
    return {"tcg": "qemu", "kvm": "kvm"}[model.choose("accelerator", accel, ["tcg", "kvm"])]


def prefix(lab: model.Lab, plat: model.Platform, instance: str) -> str:
    """Domain-name prefix of a lab VM: ``yk-``, this checkout's id, lab, platform, instance.

    Two checkouts on one host never name (or remove) each other's VMs.
    """
    return f"{checkout_prefix()}{lab.name}-{plat.name}-{instance}-"


def checkout_prefix() -> str:
    """What every VM (domain and volume) of this checkout is named with: ``yk-<id>-``.

    >>> checkout_prefix() == f"yk-{paths.CHECKOUT_ID}-"
    True
    """
    return f"{providers.GUEST_PREFIX}{paths.CHECKOUT_ID}-"


@dataclass(frozen=True)
class Step:
    """A scripted step as the guest runs it: ``script`` in the guest, uploaded from ``upload``
    first when it lives outside ``provisioning/`` (which the ``upload`` provisioner copies)."""

    phase: str
    script: str
    upload: str = ""
    bound: int = 0  # seconds the step may run (0: no bound)


def steps(lab: model.Lab, plat: model.Platform, scripts: dict[str, Path] | None = None,
          bounds: dict[str, int] | None = None) -> list[Step]:
    """The lab's steps on ``plat``; ``scripts`` overrides a step's script (a trainee's fix),
    ``bounds`` gives a step the seconds it may run.

    >>> from yarakashi import catalogue
    >>> steps(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian12-merged"))[0].script
    '/home/vagrant/yarakashi/rsync-dirlinks/prepare.sh'
    """
    found = []
    for phase in lab.steps_for(plat.name):
        own = lab.script(phase, plat.name).resolve().relative_to(paths.PROVISIONING)
        found.append(Step(phase, f"{GUEST_LAB_DIR}/{own.as_posix()}"))
    for phase, script in (scripts or {}).items():
        model.choose("step", phase, list(lab.steps), f"of lab {lab.name}")
        if not Path(script).is_file():
            raise YarakashiError(f"script for {phase} not found: {script}")
        found = [s for s in found if s.phase != phase]
        found.append(Step(phase, f"{GUEST_STEP_DIR}/{phase}", str(Path(script).resolve())))
    return [replace(s, bound=int((bounds or {}).get(s.phase, 0))) for s in found]


def render(
    lab: model.Lab,
    plat: model.Platform,
    instance: str,
    scripts: dict[str, Path] | None = None,
    proxy_command: str = "",
    provider_name: str | None = None,
    bounds: dict[str, int] | None = None,
    host: hosts.Host = hosts.Host(),
) -> str:
    """The Vagrantfile text; ``scripts`` overrides a step's script (a trainee's fix); ``host``: the
    libvirt host the VMs run on (this machine by default)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.REPO),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("Vagrantfile.j2").render(
        lab=lab,
        platform=plat,
        steps=steps(lab, plat, scripts, bounds),
        guest_lab_dir=GUEST_LAB_DIR,
        prefix=prefix(lab, plat, instance),
        proxy_command=proxy_command,
        libvirt_driver=libvirt_driver(),
        boot_timeout=BOOT_TIMEOUT,
        provisioning=str(paths.PROVISIONING),
        provider=provider_name or providers.select(plat),
        guests=guests(lab, plat, instance, not host.local),
        libvirt_uri=host.uri,
    )


def validate(workdir: Path, provider_name: str = "libvirt", env: dict[str, str] | None = None) -> None:
    """Run ``vagrant validate`` in ``workdir``; raise with Vagrant's words when it fails.

    Vagrant checks only the settings of providers it can use: VirtualBox's block is skipped
    unless a ``VBoxManage`` is on PATH (tests put a stand-in there, see tests/unit).
    """
    env = {**os.environ, **(env or {}), "VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_DEFAULT_PROVIDER": provider_name}
    done = subprocess.run(["vagrant", "validate"], cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise YarakashiError(f"vagrant validate failed in {workdir}:\n{done.stdout}{done.stderr}")
