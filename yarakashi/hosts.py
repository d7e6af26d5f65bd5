"""Where a lab VM runs: this machine, or another libvirt host reached with libvirt's own URI.

A room of 30 trainees outgrows one machine. A facilitator places a trainee's lab on another
host with ``lab.start NAME --trainee T --host qemu+ssh://[USER@]HOST[:PORT]/system``: libvirt's
client carries every call over SSH (``virsh -c URI``, vagrant-libvirt's ``uri``), and the guest
is reached over SSH through that host (``ssh -W``). Nothing of ours runs there: the host needs
libvirtd, an SSH server and ``virt-ssh-helper`` or ``nc`` (libvirt's own remote transport).
The URI is recorded in the VM's work directory; every later command follows it. A VM made with
no ``--host`` goes where ``YARAKASHI_HOST`` says (``./run test --host`` sets it for each lane it
places on another host), else on this machine.

>>> h = parse("qemu+ssh://root@ws2.example:2222/system?keyfile=/root/.ssh/ws2")
>>> h.name, h.local
('ws2.example', False)
>>> h.proxy_command()
'ssh -o BatchMode=yes -p 2222 -l root -i /root/.ssh/ws2 -W %h:%p ws2.example'
>>> parse("").name, parse("qemu:///system").local
('this machine', True)
"""

from __future__ import annotations

import os
import re
import shlex
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from yarakashi import YarakashiError

#: libvirt's URI of this machine's system libvirtd (the lab network's, see ``labnet``).
LOCAL_URI = "qemu:///system"
#: The query parameters of libvirt's ssh transport that a placement may carry
#: (https://libvirt.org/uri.html#ssh-transport): the same ones shape the guest's proxy.
PARAMS = ("keyfile", "no_verify", "command", "socket", "netcat", "no_tty")
#: What a host's URI may hold: it is written into a Vagrantfile and an SSH ProxyCommand.
SAFE = re.compile(r"[A-Za-z0-9._~@:/?=&%+-]*")
FORM = "qemu+ssh://[USER@]HOST[:PORT]/system"
#: The file in a VM's work directory that records its host.
RECORD = "libvirt-host"
#: Where a VM made without ``--host`` goes: a libvirt URI as ``--host`` takes; unset, this machine.
ENV = "YARAKASHI_HOST"


@dataclass(frozen=True)
class Host:
    """A libvirt host: ``uri`` is '' for this machine."""

    uri: str = ""

    @property
    def local(self) -> bool:
        return not self.uri

    @property
    def name(self) -> str:
        """How reports name it: ``this machine``, or the host's name."""
        if self.local:
            return "this machine"
        return urllib.parse.urlsplit(self.uri).hostname or self.uri

    def libvirt_uri(self) -> str:
        """The URI ``virsh -c`` and vagrant-libvirt connect with."""
        return self.uri or LOCAL_URI

    def proxy_command(self) -> str:
        """The SSH ProxyCommand that reaches a guest of this host: ``ssh -W`` through the host,
        with the URI's user, port, key file, ``no_verify`` and ``command`` (the ssh to run)."""
        parts = urllib.parse.urlsplit(self.uri)
        query = dict(urllib.parse.parse_qsl(parts.query))
        argv = [query.get("command", "ssh"), "-o", "BatchMode=yes"]
        if parts.port:
            argv += ["-p", str(parts.port)]
        if parts.username:
            argv += ["-l", urllib.parse.unquote(parts.username)]
        if query.get("keyfile"):
            argv += ["-i", query["keyfile"]]
        if query.get("no_verify") == "1":
            argv += ["-o", "StrictHostKeyChecking=no"]
        return shlex.join([*argv, "-W", "%h:%p", parts.hostname or ""])


def parse(text: str | None) -> Host:
    """A ``--host``: '' (or ``qemu:///system``) for this machine, else ``qemu+ssh://…/system``.

    >>> parse("http://ws2/")
    Traceback (most recent call last):
    ...
    yarakashi.YarakashiError: --host must be this machine (qemu:///system) or a libvirt URI qemu+ssh://[USER@]HOST[:PORT]/system, not 'http://ws2/'
    """
    if not text or text == LOCAL_URI:
        return Host()
    wrong = YarakashiError(f"--host must be this machine ({LOCAL_URI}) or a libvirt URI {FORM}, not {text!r}")
    if not SAFE.fullmatch(text):
        raise wrong
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise wrong from None
    if parts.scheme != "qemu+ssh" or parts.path != "/system" or not parts.hostname or parts.fragment:
        raise wrong
    unknown = sorted({k for k, _ in urllib.parse.parse_qsl(parts.query)} - set(PARAMS))
    if unknown:
        raise YarakashiError(f"--host {text!r}: unknown parameter {unknown[0]!r}; libvirt's ssh transport takes "
                             + ", ".join(PARAMS))
    return Host(text)


def default() -> Host:
    """Where a VM made without ``--host`` goes: ``YARAKASHI_HOST``, else this machine.

    >>> os.environ[ENV] = "qemu+ssh://ws3/system"; default().name
    'ws3'
    >>> del os.environ[ENV]; default().local
    True
    """
    text = os.environ.get(ENV, "")
    try:
        return parse(text)
    except YarakashiError as exc:
        raise YarakashiError(f"{ENV}: {exc}") from None


def recorded(workdir: Path) -> Host:
    """The host a VM's work directory records; with no record (a VM not made yet), :func:`default`."""
    path = workdir / RECORD
    return parse(path.read_text().strip()) if path.is_file() else default()


def record(workdir: Path, host: Host) -> None:
    """Write down where the VM of ``workdir`` runs (this machine too: ``YARAKASHI_HOST`` may change)."""
    (workdir / RECORD).write_text(host.libvirt_uri() + "\n")
