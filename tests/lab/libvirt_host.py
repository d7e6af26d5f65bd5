"""A second libvirt host for the tests, reached only as a facilitator reaches one: over SSH.

libvirtd, virtlogd and an SSH server (dropbear, from Debian's dropbear-bin: binaries, no service)
run in a network namespace and a mount namespace of their own: the namespace has loopback and
the guests' bridge only, and its own ``/run``, ``/etc/libvirt``, ``/var/lib/libvirt``,
``/var/log/libvirt`` and ``/root/.ssh``. This machine's libvirtd, its files and the host's
network are not touched; nothing is added to the main namespace, and root's own ``~/.ssh`` is
not read or written: the URI names an ``ssh`` wrapper (libvirt's ``command`` parameter) with an
SSH config of the test's, whose ProxyCommand enters the namespace.

>>> uri_of(Path("/x/h2"), "yk-h2")
'qemu+ssh://root@yk-h2/system?command=/x/h2/ssh'
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from yarakashi import labnet, paths
from yarakashi.progress import say

#: What the second host keeps of its own, each mounted over the path libvirt uses.
PRIVATE = {"lib": "/var/lib/libvirt", "cache": "/var/cache/libvirt", "log": "/var/log/libvirt", "etc": "/etc/libvirt",
           "root-ssh": "/root/.ssh"}


@dataclass(frozen=True)
class SecondHost:
    """A running second libvirt host: its SSH name, its libvirt URI and its namespace."""

    name: str
    uri: str
    namespace: str
    base: Path

    def virsh(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``virsh ARGS`` over the host's URI, as a facilitator would type it."""
        return labnet.virsh(*args, check=False, uri=self.uri)


def uri_of(base: Path, name: str) -> str:
    """The host's libvirt URI: qemu+ssh, with the test's ssh wrapper as libvirt's ``command``."""
    return f"qemu+ssh://root@{name}/system?command={base / 'ssh'}"


def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def _write_files(base: Path, name: str, namespace: str) -> None:
    """The host's own directories, its host key, the test's client key and SSH config."""
    for sub in PRIVATE:
        (base / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("lib/images", "log/qemu", "etc/qemu/networks", "etc/storage"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(base / "lib", 0o755)
    os.chmod(base / "lib" / "images", 0o711)
    os.chmod(base / "root-ssh", 0o700)
    for conf in Path("/etc/libvirt").glob("*.conf"):  # the package's settings; no definitions
        shutil.copy(conf, base / "etc")
    shutil.copytree("/etc/libvirt/nwfilter", base / "etc" / "nwfilter", dirs_exist_ok=True)
    _run("dropbearkey", "-t", "ed25519", "-f", str(base / "host_key"))
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "client_key"))
    shutil.copy(base / "client_key.pub", base / "root-ssh" / "authorized_keys")
    public = next(line for line in _run("dropbearkey", "-y", "-f", str(base / "host_key")).splitlines()
                  if line.startswith("ssh-"))
    (base / "known_hosts").write_text(f"{name} {public}\n")
    (base / "ssh_config").write_text(
        f"Host {name}\n  HostName 127.0.0.1\n  HostKeyAlias {name}\n"
        f"  ProxyCommand ip netns exec {namespace} nc %h %p\n  IdentityFile {base / 'client_key'}\n"
        f"  UserKnownHostsFile {base / 'known_hosts'}\n  StrictHostKeyChecking yes\n  BatchMode yes\n")
    wrapper = base / "ssh"
    wrapper.write_text(f"#!/bin/sh\nexec ssh -F {base / 'ssh_config'} \"$@\"\n")
    wrapper.chmod(0o755)


def _script(base: Path) -> str:
    """What runs inside the namespaces: private mounts, virtlogd, libvirtd, then the SSH server."""
    mounts = [f"mount --bind {base / sub} {target}" for sub, target in PRIVATE.items()]
    libvirtd = shlex.join(labnet._without_kvm("libvirtd", "-d"))  # as this machine's: TCG here
    return " && ".join([
        f"mount -t tmpfs -o mode=755 yk-second-host-run /run && mkdir -p /run/lock {labnet.NO_KVM}",
        "mount -t tmpfs -o mode=700 yk-second-host-root /root", "mkdir /root/.ssh", *mounts,
        "virtlogd -d", libvirtd,
        # -s: keys only; -W: a 4 MiB window, for the box's upload; -p: loopback of the namespace only
        f"exec dropbear -F -E -s -W 4194304 -r {base / 'host_key'} -p 127.0.0.1:22",
    ])


@contextlib.contextmanager
def started(name: str = "yk-h2", timeout: float = 60) -> Iterator[SecondHost]:
    """Start the second host; stop every process of it and remove its namespace and files after."""
    namespace = f"{name}-{paths.CHECKOUT_ID}"
    base = paths.STATE / "test-hosts" / namespace
    _stop(namespace, base)  # what an interrupted run left
    base.mkdir(parents=True)
    host = SecondHost(name, uri_of(base, name), namespace, base)
    try:
        _run("ip", "netns", "add", namespace)
        _run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        _write_files(base, name, namespace)
        with (base / "host.log").open("w") as log:
            server = subprocess.Popen(["ip", "netns", "exec", namespace, "unshare", "--mount", "--propagation", "private",
                                       "sh", "-c", _script(base)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while host.virsh("version").returncode != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the second libvirt host did not answer over SSH (exit {server.poll()}): "
                                   f"{host.virsh('version').stderr.strip()}; its log: {(base / 'host.log').read_text()}")
            time.sleep(1)
        say(f"second libvirt host up: {host.uri} (namespace {namespace})")
        yield host
    finally:
        _stop(namespace, base)


def _stop(namespace: str, base: Path) -> None:
    """Every process in the namespace (QEMU, libvirtd, dnsmasq, dropbear) ends; namespace and files go."""
    if namespace in labnet.namespaces():
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = [int(p) for p in _run("ip", "netns", "pids", namespace).split()]
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 15
            while pids and time.monotonic() < deadline and _run("ip", "netns", "pids", namespace).split():
                time.sleep(0.3)
        subprocess.run(["ip", "netns", "delete", namespace], check=False)
    shutil.rmtree(base, ignore_errors=True)
