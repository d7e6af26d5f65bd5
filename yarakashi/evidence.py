"""What a failed check leaves behind, kept for whoever reads the verdict: the step log, the
serial console, recent boots' journals and the kernel's messages, or, from a guest no session
reaches, the lab's ``offline_evidence`` paths read from its stopped disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from yarakashi import YarakashiError, failures, kernlog, providers
from yarakashi.progress import say

if TYPE_CHECKING:
    from yarakashi.machine import Machine


def stat_offline(m: Machine, path: str) -> str:
    """Stop the VM and ``debugfs stat`` ``path`` on its disk, read from the host.

    For a guest that can no longer run a command: what is on its disk is the evidence.
    The guest's kernel writes out what it holds first (SysRq sync and read-only remount
    on the console), then the plug is pulled; the copy's journal is replayed before reading.
    """
    with failures.step(f"reading {path} from the stopped disk of {m.domain}"):
        return m.hv.read_offline(m, path)


def save(m: Machine, dest: Path) -> dict[str, str]:
    """Keep what a FAIL leaves, in ``dest``: the step log, each recent boot's journal and this
    boot's kernel messages when a session opens, else the lab's ``offline_evidence`` paths read from the stopped disk.
    Returns ``{what: file}``."""
    dest.mkdir(parents=True, exist_ok=True)
    files = {"log": str(m.log)}
    if m.serial_log and m.serial_log.is_file():
        shutil.copyfile(m.serial_log, dest / "serial-console.log")
        files["serial console"] = str(dest / "serial-console.log")
    boots = m.guest.ssh("sudo -n journalctl --list-boots --no-pager -q", timeout=60)
    if boots.returncode == 0:
        # The journal can lack kernel lines the ring buffer holds (yarakashi/kernlog.py).
        try:
            raw = kernlog.read(m.guest)[1]
        except YarakashiError as exc:
            raw = f"{exc}\n"
        (dest / "kernel-this-boot.txt").write_text(raw)
        files["kernel messages of this boot (ring buffer and journal)"] = str(dest / "kernel-this-boot.txt")
        for offset in [line.split()[0] for line in boots.stdout.splitlines() if line.strip()][-3:]:
            got = m.guest.ssh(f"sudo -n journalctl -b {offset} --no-pager -o short-precise | tail -n 5000", timeout=120)
            path = dest / f"journal-boot{offset}.txt"
            path.write_text(got.stdout)
            files[f"journal of boot {offset}"] = str(path)
    elif m.lab.offline_evidence:
        for guest_path in m.lab.offline_evidence:
            path = dest / f"offline-stat{guest_path.replace('/', '_')}.txt"
            try:
                path.write_text(stat_offline(m, guest_path))
            except (failures.ToolFailed, providers.Unsupported) as exc:
                path.write_text(f"could not be read: {exc}\n")
            files[f"stat {guest_path} (stopped disk)"] = str(path)
    say(f"evidence kept in {dest}")
    return files
