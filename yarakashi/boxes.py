"""Offline Vagrant boxes: debootstrap -> bootable qcow2 -> libvirt box -> ``vagrant box add``.

A box is rebuilt only when its inputs change: the platform entry, the package lists
(the box's own and every lab's, baked into a local apt repo inside it) and the build
scripts. Downloaded .debs are cached between builds (``paths.CACHE``).

>>> from yarakashi import boxes, catalogue
>>> len(boxes.input_key(catalogue.platform("debian12-merged")))
16
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import vagrant

from yarakashi import YarakashiError, catalogue, failures, model, paths, providers
from yarakashi.progress import say
from yarakashi.teelog import tee, tee_cm

if TYPE_CHECKING:
    from yarakashi.providers.libvirt import Libvirt

BUILD_SCRIPTS = ("provisioning/box/build.sh", "provisioning/box/firstboot.sh", "provisioning/box/lean-boot.sh")


def libvirt() -> "Libvirt":
    """The offline boxes are libvirt boxes (qcow2): that provider keeps their pool copies."""
    return providers.get("libvirt")


def box_dir(plat: model.Platform) -> Path:
    """Where a platform's box is built and its input stamp kept."""
    return paths.STATE / "boxes" / plat.name


def box_image(plat: model.Platform) -> Path:
    """The disk image of an offline (libvirt) box as Vagrant keeps it (present once ``vagrant box add`` ran)."""
    return paths.vagrant_home() / "boxes" / vagrant_dir_name(plat) / "0" / "libvirt" / "box.img"


def vagrant_dir_name(plat: model.Platform) -> str:
    """The box's name as Vagrant and vagrant-libvirt spell it in file and volume names.

    >>> vagrant_dir_name(catalogue.platform("debian12-merged"))
    'yarakashi-VAGRANTSLASH-debian12-merged'
    """
    return plat.box.replace("/", "-VAGRANTSLASH-")


def build_env(plat: model.Platform) -> dict[str, str]:
    """The inputs of provisioning/box/build.sh for ``plat``."""
    settings = catalogue.box_settings()
    return {
        "YK_SUITE": plat.suite,
        "YK_USR": plat.usr,
        "YK_PLATFORM": plat.name,
        "YK_PACKAGES": " ".join(settings["packages"]),
        "YK_REPO": " ".join(plat.repo),
        "YK_APPS": " ".join(f"{app.name}={app.source}" for app in plat.apps),
        "YK_APP_PACKAGES": " ".join(sorted({p for app in plat.apps for p in app.packages})),
        "YK_DISK_GB": str(settings.get("disk_gb", 8)),
    }


@dataclass(frozen=True)
class DirectBoot:
    """What QEMU starts a lab VM with, instead of the disk's boot loader: the box's own kernel
    (uncompressed) and initrd, and the kernel command line its GRUB would give."""

    kernel: Path
    initrd: Path
    cmdline: str


def direct_boot(plat: model.Platform) -> DirectBoot | None:
    """The current build's :class:`DirectBoot` (under TCG, GRUB's reads and the kernel's
    decompression cost 13 s of every boot); None for a downloaded box or an older build.

    One directory per build (``boot-<inputs>``), the older ones kept while lab VMs exist (as
    the box's old pool copies are): a running VM of an older build reboots into the kernel it
    was started with.

    >>> direct_boot(catalogue.platform("ubuntu-18.04")) is None
    True
    """
    if not plat.offline or state(plat) != "current":
        return None
    found = box_dir(plat) / f"boot-{input_key(plat)}"
    if not (found / "vmlinux").is_file():
        return None
    return DirectBoot(found / "vmlinux", found / "initrd.img", (found / "cmdline").read_text().strip())


def input_key(plat: model.Platform) -> str:
    """A short hash of everything that decides the box's content."""
    env = build_env(plat)
    env["YK_APPS"] = " ".join(a.name for a in plat.apps)  # not where the checkout is
    digest = hashlib.sha256(json.dumps(env, sort_keys=True).encode())
    for script in BUILD_SCRIPTS:
        digest.update((paths.REPO / script).read_bytes())
    for app in plat.apps:  # a changed source is a new box
        for source in sorted(f for f in app.source.rglob("*") if f.is_file()):
            digest.update(source.relative_to(app.source).as_posix().encode() + source.read_bytes())
    return digest.hexdigest()[:16]


def _stamp(plat: model.Platform) -> Path:
    return box_dir(plat) / "inputs.key"


def state(plat: model.Platform) -> str:
    """``current``, ``stale`` (inputs changed), ``missing``, or ``cloud`` (downloaded by Vagrant)."""
    if not plat.offline:
        return "cloud"
    stamp = _stamp(plat)
    if not box_image(plat).exists() or not stamp.exists():
        return "missing"
    return "current" if stamp.read_text().strip() == input_key(plat) else "stale"


@contextmanager
def _lock(plat: model.Platform) -> Iterator[None]:
    box_dir(plat).mkdir(parents=True, exist_ok=True)
    with (box_dir(plat).parent / f"{plat.name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def ensure(plat: model.Platform, force: bool = False, into: "providers.Provider | None" = None) -> bool:
    """Build and add the box unless it is current, and put it where new VMs are made from: the
    pool of ``into`` (a lab VM's provider, on this machine or another libvirt host; default this
    machine's libvirt). True when built."""
    if not plat.offline:
        return False
    with _lock(plat):
        current = state(plat)
        built = current != "current" or force
        if built:
            say(f"building box {plat.box} ({current}); log: {box_dir(plat) / 'build.log'}")
            _build(plat)
        else:
            say(f"box {plat.box} is current (inputs {input_key(plat)})")
        if (into or libvirt()).preload_box(plat):  # no older build's copy: no VM boots that build's kernel
            keep = f"boot-{input_key(plat)}"
            for old in box_dir(plat).glob("boot-*"):
                if old.name != keep:
                    shutil.rmtree(old)
        return built


def build_ahead(plats: list[model.Platform]) -> list[threading.Thread]:
    """Start building each box of ``plats`` that is not current, each in a thread, when there
    are two or more: the builds share the machine, and the first VM boots while the next box is
    still being built (a fresh machine's first ``lab.up``). :func:`ensure` waits for a box being
    built (its lock), and builds it itself if the thread failed."""
    todo = [p for p in {p.name: p for p in plats}.values() if p.offline and state(p) != "current"]
    if len(todo) < 2:
        return []
    say(f"building {len(todo)} boxes at once: {', '.join(p.box for p in todo)}")
    threads = [threading.Thread(target=_ahead, args=(p,), name=f"box {p.name}", daemon=True) for p in todo]
    for thread in threads:
        thread.start()
    return threads


def _ahead(plat: model.Platform) -> None:
    try:
        ensure(plat)
    except YarakashiError as exc:  # said again, and raised, when a VM needs the box
        say(f"building {plat.box} ahead failed: {failures.tail(str(exc))}")


def _build(plat: model.Platform) -> None:
    out = box_dir(plat)
    log = out / "build.log"
    log.write_text("")
    key = input_key(plat)  # the stamp must describe the inputs this build really used
    env = {**os.environ, **build_env(plat), "YK_OUT": str(out), "YK_CACHE": str(paths.CACHE)}
    start = time.monotonic()
    box_file = out / f"{plat.name}.box"
    with failures.step(f"building box {plat.box} (debootstrap, first boot, vagrant box add)", log):
        with tee(log) as fh:
            subprocess.run([str(paths.REPO / BUILD_SCRIPTS[0])], env=env, stdout=fh, stderr=subprocess.STDOUT, check=True)
        with tarfile.open(box_file, "w") as tar:
            for name in ("box.img", "metadata.json", "Vagrantfile", "vagrant_key"):
                tar.add(out / name, arcname=name)
        (out / "box.img").unlink()
        vagrant.Vagrant(out_cm=tee_cm(log), err_cm=tee_cm(log)).box_add(plat.box, str(box_file), force=True)
    box_file.unlink()
    shutil.rmtree(out / f"boot-{key}", ignore_errors=True)
    (out / "boot").rename(out / f"boot-{key}")
    _stamp(plat).write_text(key + "\n")
    say(f"box {plat.box} built in {time.monotonic() - start:.0f} s")


def forget(plat: model.Platform) -> None:
    """Forget a built box: Vagrant's copy, the pool volume and the stamp."""
    if not plat.offline:
        raise YarakashiError(f"{plat.name} uses a downloaded box: `vagrant box remove {plat.box}` forgets it")
    subprocess.run(["vagrant", "box", "remove", "--force", "--provider", "libvirt", plat.box], check=False)
    libvirt().drop_old_box_copies(plat)
    shutil.rmtree(box_dir(plat), ignore_errors=True)
