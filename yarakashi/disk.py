"""Reading a stopped guest's disk from the host: the evidence when no session can start.

The guest is asked to write out what it holds first (see ``providers.libvirt_domain.Domain.flush``);
then a raw copy of the disk has its ext4 journal replayed, as the guest's next mount would, before
``debugfs`` reads it. Without the replay, a change committed only to the journal (the last
seconds of a break) would be invisible, and what the host reads would depend on timing.

>>> parse_type("Inode: 12   Type: directory    Mode:  0755   Flags: 0x80000")
'directory'
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from yarakashi import YarakashiError
from yarakashi.progress import say

#: Byte offset of the root filesystem in an offline box's disk (partition 1 at sector 2048).
ROOT_PARTITION_OFFSET = 1048576


class Unreadable(YarakashiError):
    """The disk could be copied but the path on it could not be read."""

    exit_code = 1


def parse_type(stat: str) -> str:
    """The ``Type:`` field of ``debugfs stat`` output ('' when absent)."""
    found = re.search(r"\bType:\s*(\S+)", stat)
    return found[1] if found else ""


def stat(disk: Path, path: str, scratch: Path) -> str:
    """``debugfs stat path`` on the root filesystem of ``disk`` (qcow2 or raw), journal replayed.

    Raises :class:`Unreadable` with debugfs's own words when it cannot say what ``path`` is.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        raw = Path(tmp) / "disk.raw"
        subprocess.run(["qemu-img", "convert", "-O", "raw", str(disk), str(raw)], check=True,
                       capture_output=True, text=True)
        fs = f"{raw}?offset={ROOT_PARTITION_OFFSET}"
        replay = subprocess.run(["e2fsck", "-E", "journal_only", "-y", fs], capture_output=True, text=True)
        if replay.returncode >= 4:  # 0: clean, 1-3: replayed/corrected; 4 and up: not done
            raise subprocess.CalledProcessError(replay.returncode, replay.args, replay.stdout, replay.stderr)
        replayed = "recovering journal" in replay.stdout + replay.stderr
        say(f"{disk.name}: {'journal replayed on the copy' if replayed else 'the file system was clean (nothing in the journal)'}")
        done = subprocess.run(["debugfs", "-R", f"stat {path}", fs], capture_output=True, text=True, check=True)
    if not parse_type(done.stdout):
        said = " | ".join(line for line in done.stderr.splitlines() if not line.startswith("debugfs "))
        raise Unreadable(f"could not read {path} on the stopped disk {disk}: debugfs said: {said or 'nothing'}")
    return done.stdout
