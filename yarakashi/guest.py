"""Reaching a guest over SSH: fresh sessions, testinfra hosts, and a shell pinned open.

After ``rsync -r files/ /`` on merged /usr no new session can start, because every
exec of a dynamic binary fails. A :class:`PinnedShell` is a bash opened *before* the
break; its builtins still work afterwards, so it can report what a team would see.

>>> sh = PinnedShell(["bash"])            # a local bash stands in for ssh here
>>> sh.run("echo $((6 * 7))")
(0, '42')
>>> sh.run("test -L /nonexistent")
(1, '')
>>> sh.close()
"""

from __future__ import annotations

import os
import select
import subprocess
import time
import uuid
from pathlib import Path

import testinfra

from yarakashi import YarakashiError

#: Options added to ``vagrant ssh-config``: fail fast, no shared connections (each
#: command is a really new session, which is what the labs assert on).
SSH_OPTIONS = (
    "ConnectTimeout 15",
    "ServerAliveInterval 5",
    "ServerAliveCountMax 6",
    "BatchMode yes",
    "ControlMaster no",
    "ControlPath none",
)
HOST_ALIAS = "default"


def write_ssh_config(vagrant_ssh_config: str, path: Path) -> Path:
    """Write Vagrant's ssh-config for the guest plus :data:`SSH_OPTIONS` to ``path``."""
    extra = "".join(f"  {opt}\n" for opt in SSH_OPTIONS)
    path.write_text(vagrant_ssh_config.rstrip() + "\n" + extra)
    return path


def ssh(config: Path, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a new SSH session; a session that cannot start gives rc 255."""
    return run_bounded(["ssh", "-F", str(config), HOST_ALIAS, command], timeout)


def run_bounded(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (an ssh command line); past ``timeout`` seconds it is killed and gives rc 124."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout:.0f} s")


def host(config: Path) -> testinfra.host.Host:
    """A new testinfra host for the guest (never cached: a reboot invalidates sessions)."""
    return testinfra.get_host(f"ssh://{HOST_ALIAS}", ssh_config=str(config), controlpersist=0, timeout=15)


class PinnedShell:
    """A bash kept open on the guest; commands go in on stdin, results come back framed.

    Only builtins and redirections are safe after the guest's /lib is gone: ``run`` wraps
    each command so that its exit status and merged output come back with a marker.
    """

    def __init__(self, argv: list[str]):
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0
        )
        if self.run("echo ready", timeout=120) != (0, "ready"):
            raise YarakashiError(f"could not open a shell with {' '.join(argv)}")

    @classmethod
    def over_ssh(cls, config: Path) -> "PinnedShell":
        """A root bash on the guest, opened now (before anything breaks)."""
        return cls(["ssh", "-F", str(config), "-T", HOST_ALIAS, "sudo", "bash", "--noprofile", "--norc"])

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Run ``command`` in the pinned shell; return (exit status, output)."""
        assert self._proc.stdin and self._proc.stdout
        mark = uuid.uuid4().hex
        script = f"{{ {command}\n}} 2>&1; printf '\\n{mark} %d\\n' $?\n"
        self._proc.stdin.write(script.encode())
        buf = b""
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while (mark.encode() + b" ") not in buf or not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise YarakashiError(f"no answer from the pinned shell within {timeout} s: {command}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise YarakashiError(f"the pinned shell closed while running: {command}")
            buf += chunk
        text, _, status = buf.decode(errors="replace").rpartition(f"{mark} ")
        return int(status.strip()), text.rstrip("\n")

    def close(self) -> None:
        """End the shell (and its SSH connection)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
