"""Reaching a guest over SSH: one endpoint type for lab VMs and a team's own server alike -
bounded fresh sessions, boot id, reboot-and-wait, testinfra hosts, and a shell pinned open.

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

import io
import os
import posixpath
import select
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import testinfra

from yarakashi import YarakashiError
from yarakashi.failures import ToolFailed, tail
from yarakashi.progress import Timeout, say, wait_until

#: One set of SSH options for every endpoint: fail fast, no shared connections (each
#: command is a really new session, which is what the labs assert on). Written into a lab
#: VM's ssh_config (so ``lab.ssh`` uses them too) and given as ``-o`` to any other host.
SSH_OPTIONS = (
    ("ConnectTimeout", "15"),
    ("ServerAliveInterval", "5"),
    ("ServerAliveCountMax", "6"),
    ("BatchMode", "yes"),
    ("ControlMaster", "no"),
    ("ControlPath", "none"),
)
#: Seconds a real reboot may take to bring SSH back under TCG (measured 35-120 s, bench/results.md).
REBOOT_TIMEOUT = 600.0


def write_ssh_config(vagrant_ssh_config: str, path: Path) -> Path:
    """Write Vagrant's ssh-config for the guest plus :data:`SSH_OPTIONS` to ``path``."""
    extra = "".join(f"  {key} {value}\n" for key, value in SSH_OPTIONS)
    path.write_text(vagrant_ssh_config.rstrip() + "\n" + extra)
    return path


def run_bounded(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; past ``timeout`` seconds it is killed and gives rc 124."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout:.0f} s")


def await_new_boot(name: str, boot_id: Callable[[], str | None], before: str | None, timeout: float,
                   meanwhile: Callable[[], None] | None = None, what: str = "back from reboot",
                   progress: Callable[[], int] | None = None, interval: float = 2) -> str:
    """Wait until ``boot_id`` (asked every ``interval`` s) gives a boot other than ``before``;
    ``meanwhile`` runs once a minute (a lab VM refreshes its SSH settings: its address may change).

    ``progress`` (a count that grows while the guest works: a lab VM's serial console size)
    lets the wait go on past ``timeout`` while the guest still prints, up to 3 x ``timeout``:
    on a busy host a boot is slow, a hung one is silent. Apart from :class:`Endpoint`: the
    policy needs no SSH, only ``boot_id``, which gives None while no session opens.

    >>> await_new_boot("isu1", iter([None, "old", "new"]).__next__, "old", timeout=30, interval=0)
    'new'
    """
    last = time.monotonic()

    def new_boot() -> str | None:
        nonlocal last
        if meanwhile and time.monotonic() - last > 60:
            last = time.monotonic()
            meanwhile()
        now = boot_id()
        return now if now and now != before else None

    start, seen = time.monotonic(), progress() if progress else 0
    while True:
        try:
            return wait_until(f"{name} {what}", new_boot, timeout, interval=interval)
        except Timeout:
            grown = (progress() if progress else 0) - seen
            if grown <= 0 or time.monotonic() - start >= 3 * timeout:
                raise
            seen += grown
            say(f"{name} is still booting (its console printed {grown} bytes in the last {timeout:.0f} s): waiting on")


class Endpoint:
    """A host reached over SSH, a new session for every command: a lab VM
    (``Endpoint("default", workdir / "ssh_config")``) or a team's own server (``Endpoint("isu1")``).

    Why not testinfra's backend as the transport: in these labs a session that hangs or is
    refused is the observation, not an error - after a broken deploy, during an OOM stall, in
    the middle of a reboot. :meth:`run` is bounded and returns rc 124 (timed out) and 255
    (no session) as values; testinfra's ``run`` has no timeout. Testinfra stays the tool for
    asserting on a healthy host (:meth:`testinfra`).

    >>> Endpoint("isu1").argv[-1], Endpoint("isu1").argv[1:3]
    ('isu1', ['-o', 'ConnectTimeout=15'])
    """

    def __init__(self, host: str, config: Path | None = None, name: str | None = None):
        if not host or host.startswith("-"):
            raise YarakashiError(f"not an SSH host: {host!r}")
        self.host, self.config, self.name = host, config.expanduser() if config else None, name or host

    @property
    def argv(self) -> list[str]:
        """``ssh`` with this endpoint's config and options, up to the host (append a command)."""
        config = ["-F", str(self.config)] if self.config else []
        return ["ssh", *[arg for key, value in SSH_OPTIONS for arg in ("-o", f"{key}={value}")], *config, self.host]

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in a new session: rc 255 when none starts, 124 past ``timeout``."""
        return run_bounded([*self.argv, command], timeout)

    def upload(self, into: str, files: dict[str, Path], timeout: float = 120, leave_out: frozenset[Path] = frozenset()) -> None:
        """Copy local files and trees into the directory ``into`` on the host, as
        ``{path under into: local path}``, in one tar stream over one session; the local paths
        in ``leave_out`` (files or trees) are not sent."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, local in files.items():
                skip = {posixpath.join(name, p.relative_to(local).as_posix()) for p in leave_out if p.is_relative_to(local)}
                tar.add(local, arcname=name, filter=lambda info: None if info.name in skip else info)
        argv = [*self.argv, f"mkdir -p {into} && tar --no-same-owner -C {into} -xf -"]
        try:
            done = subprocess.run(argv, input=buf.getvalue(), capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ToolFailed(f"uploading to {self.name} failed: no end within {timeout:.0f} s") from exc
        if done.returncode != 0:
            raise ToolFailed(f"uploading to {self.name} failed: ssh exited {done.returncode}: "
                             f"{tail(done.stderr.decode(errors='replace')) or 'no output'}")

    def stream(self, command: str, sink: IO[str], timeout: float | None = None) -> int:
        """Run ``command`` in a new session, each line it prints written to ``sink`` as it
        comes (as ``    default: <line>``, the way Vagrant logs a guest's output); its exit
        status (255: no session; 124: past ``timeout``). An interrupt ends the session."""
        proc = subprocess.Popen([*self.argv, command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        deadline = time.monotonic() + timeout if timeout else None
        try:
            assert proc.stdout
            while True:
                ready, _, _ = select.select([proc.stdout], [], [], 5)
                if ready:
                    line = proc.stdout.readline()
                    if not line:
                        break
                    sink.write(f"    default: {line.rstrip()}\n")
                    sink.flush()
                if deadline and time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    return 124
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def boot_id(self, connect_timeout: int = 15) -> str | None:
        """The kernel's boot id, or None when no session can be opened within ``connect_timeout``
        seconds. (A wait for a reboot asks every 2 s, 5 s each time: a SYN sent while the
        guest's network was still down is sent again only after 1, 3, 7 and 15 s.)"""
        argv = [self.argv[0], "-o", f"ConnectTimeout={connect_timeout}", *self.argv[1:]]
        done = run_bounded([*argv, "cat /proc/sys/kernel/random/boot_id"], 30)
        return done.stdout.strip() if done.returncode == 0 else None

    def reboot(self, timeout: float = REBOOT_TIMEOUT, meanwhile: Callable[[], None] | None = None,
               progress: Callable[[], int] | None = None) -> str:
        """``sudo -n systemctl reboot``; the new boot id once a session opens again (see
        :func:`await_new_boot` for ``meanwhile`` and ``progress``)."""
        first = self.ssh("cat /proc/sys/kernel/random/boot_id", timeout=30)
        if first.returncode != 0:
            where = f"; config: {self.config}" if self.config else ""
            raise ToolFailed(f"rebooting {self.name} failed: ssh exited {first.returncode}: "
                             f"{tail(first.stderr) or 'no output'}{where}")
        say(f"rebooting {self.name} (systemctl reboot)")
        self.ssh("sudo -n systemctl reboot", timeout=30)
        return self.wait_new_boot(first.stdout.strip(), timeout, meanwhile, progress=progress)

    #: A team's server has no hypervisor: its power cycle is a reboot (see retest.Target).
    power_cycle = reboot

    def wait_new_boot(self, before: str | None, timeout: float = REBOOT_TIMEOUT,
                      meanwhile: Callable[[], None] | None = None, what: str = "back from reboot",
                      progress: Callable[[], int] | None = None, interval: float = 2) -> str:
        """Wait until a session opens on a boot other than ``before`` (:func:`await_new_boot`
        says what ``meanwhile`` and ``progress`` are for)."""
        return await_new_boot(self.name, lambda: self.boot_id(connect_timeout=5), before, timeout,
                              meanwhile, what, progress, interval)

    def testinfra(self) -> testinfra.host.Host:
        """A new testinfra host (never cached: a reboot invalidates sessions)."""
        config = {"ssh_config": str(self.config)} if self.config else {}
        return testinfra.get_host(f"ssh://{self.host}", controlpersist=0, timeout=15, **config)

    def pinned_shell(self) -> "PinnedShell":
        """A root bash opened now (before anything breaks)."""
        return PinnedShell([*self.argv[:-1], "-T", self.host, "sudo", "bash", "--noprofile", "--norc"])


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
