"""An offline box's copy in a libvirt storage pool: the name vagrant-libvirt gives its copy, the
copy made ahead of Vagrant, and old builds' copies dropped.

Apart from :class:`~yarakashi.providers.libvirt.Libvirt` because it is about boxes, not lab
VMs: ``boxes`` asks for it to preload a box (each VM's ``up``) or forget one.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from yarakashi import failures, labnet
from yarakashi.boxes import box_image, vagrant_dir_name
from yarakashi.failures import ToolFailed, tail
from yarakashi.progress import say
from yarakashi.providers import GUEST_PREFIX

if TYPE_CHECKING:
    from yarakashi.catalogue import Platform
    from yarakashi.providers.libvirt import Libvirt


def pool_volume(plat: Platform) -> str:
    """The name vagrant-libvirt 0.11 gives the box's copy in the storage pool.

    For an unversioned box it is ``<box>_vagrant_box_image_0_<mtime of box.img>_box.img``.
    """
    mtime = int(box_image(plat).stat().st_mtime)
    return vagrant_dir_name(plat) + f"_vagrant_box_image_0_{mtime}_box.img"


def preload_box(lv: Libvirt, plat: Platform) -> bool:
    """Upload the box into ``lv``'s pool with virsh (seconds) before vagrant-libvirt would (a
    minute), and drop older builds' copies no lab VM can be using. True when this machine's pool
    holds no older build's copy (so that build's boot files may go too)."""
    lv.prepare()
    name = pool_volume(plat)
    if name not in lv.volumes(name):
        image = box_image(plat)
        where = "" if lv.host.local else f" of {lv.host.name}"
        with failures.step(f"copying box {plat.box} into the storage pool{where}"):
            size = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image)], capture_output=True,
                                             text=True, check=True).stdout)["virtual-size"]
            _create_volume(lv, name, size, image)
        say(f"box {plat.box} copied into the storage pool{where} as {name}")
    return drop_old_box_copies(lv, plat) and lv.host.local


def drop_old_box_copies(lv: Libvirt, plat: Platform) -> bool:
    """Delete the copies vagrant-libvirt uploaded into ``lv``'s pool of older builds of this box;
    False when they were kept.

    Kept while any lab VM exists: it may use one as its backing image. (A new build gets a
    volume of its own name, so a kept copy is never used for new VMs.)
    """
    lv.prepare()
    current = pool_volume(plat) if box_image(plat).exists() else None
    copies = [v for v in lv.volumes(vagrant_dir_name(plat) + "_vagrant_box_image_") if v != current]
    if copies and lv.domains(GUEST_PREFIX):
        say(f"kept {len(copies)} old pool copies of {plat.box}: "
            "lab VMs exist (the first lab.up after lab.destroy all drops them)")
        return False
    for vol in copies:
        lv.remove_volume(vol)
    return True


def _create_volume(lv: Libvirt, name: str, size: int, source: Path) -> None:
    """A qcow2 volume in the pool with ``source``'s bytes (removed again if the upload fails)."""
    lv.virsh("vol-create-as", labnet.POOL, name, str(size), "--format", "qcow2")
    done = lv.virsh("vol-upload", "--pool", labnet.POOL, name, str(source), check=False)
    if done.returncode != 0:
        lv.remove_volume(name)
        raise ToolFailed(f"uploading {source} into the pool {labnet.POOL} failed: virsh exited {done.returncode}: "
                         f"{tail(done.stderr)}")
