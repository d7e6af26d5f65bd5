"""The lab network: libvirtd, its storage pool and its bridge live in a network namespace of our own.

Guests' traffic can then never reach an address of the host's network: the namespace
has only loopback and the libvirt bridge. Vagrant, ssh and testinfra stay in the main
namespace and reach guests through ``ip netns exec NS nc HOST PORT`` (an SSH
ProxyCommand); libvirt's API is a unix socket, which namespaces do not separate.

Where libvirtd already runs outside our namespace (a laptop with systemd), it is reused
as it is and no namespace is made. Another libvirt host (``hosts``, a workshop's ``--host``) gets
the same pool and network over its URI (:func:`ensure_remote`), and nothing else.

What is done to VMs (stop, keys, disks) is the libvirt provider's (``providers/libvirt.py``);
this module only runs the daemon and answers :func:`virsh` calls to it.

>>> from yarakashi import labnet
>>> labnet.NAMESPACE
'yarakashi'
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from yarakashi import YarakashiError, capacity, failures
from yarakashi.failures import ToolFailed
from yarakashi.progress import say

NAMESPACE = os.environ.get("YARAKASHI_NETNS", "yarakashi")
POOL = "default"
POOL_PATH = Path("/var/lib/libvirt/images")
LIBVIRT_SOCKET = Path("/run/libvirt/libvirt-sock")
URI = "qemu:///system"
LOCK = Path("/run/yarakashi/labnet.lock")
#: The guests' network, as vagrant-libvirt names and addresses its management network (isolated:
#: no forwarding, DHCP only). Made here, under LOCK, before any ``vagrant up``: vagrant-libvirt
#: serialises its network set-up only inside one process, so two ``vagrant up`` at once both
#: made or started it ("network is already active"), and a failed one removed it from under the
#: other ("network 'vagrant-libvirt' is not active"; bench/results.md). A network
#: it finds made is one it neither starts nor removes.
NETWORK = "vagrant-libvirt"
NETWORK_XML = f"""<network>
  <name>{NETWORK}</name>
  <ip address="192.168.121.1" netmask="255.255.255.0">
    <dhcp><range start="192.168.121.2" end="192.168.121.254"/></dhcp>
  </ip>
</network>
"""
#: Where the device libvirtd sees as /dev/kvm under TCG is made (see _without_kvm).
NO_KVM = Path("/run/yarakashi/no-kvm")
#: True once this process started libvirtd (an interrupted task then stops it again).
started_here = False


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, text=True, capture_output=True)


def namespaces() -> list[str]:
    """Names of the network namespaces that exist."""
    return [line.split()[0] for line in _run("ip", "netns", "list").stdout.splitlines() if line]


def _pids(name: str) -> list[int]:
    """Live processes called ``name`` (zombies left to a PID 1 that does not reap are not)."""
    out = _run("pgrep", "-x", name, check=False).stdout
    return [int(p) for p in out.split() if _state(int(p)) not in ("Z", "X", "")]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _ns_of(pid: int) -> str:
    return _run("ip", "netns", "identify", str(pid), check=False).stdout.strip()


def in_namespace() -> bool:
    """True when libvirtd runs in our namespace (False: reused from the host, or down)."""
    return any(_ns_of(p) == NAMESPACE for p in _pids("libvirtd"))


def _hosts_own() -> bool:
    """True when a libvirtd runs in the host's own network namespace. One in another named
    namespace (a second libvirt host for the tests, a container's) answers on a socket of
    its own, not on ours: it is neither reused nor a reason to start none."""
    return any(_ns_of(p) == "" for p in _pids("libvirtd"))


def mode() -> str:
    """How the lab network runs now: in our namespace, a host libvirtd, or down."""
    if in_namespace():
        return f"libvirtd in network namespace {NAMESPACE}"
    return "libvirtd of the host (no namespace)" if _hosts_own() else "down"


def proxy_command() -> str:
    """The SSH ProxyCommand that reaches a guest, or '' when no namespace is used.

    >>> proxy_command() in ("", "ip netns exec yarakashi nc %h %p")
    True
    """
    return f"ip netns exec {NAMESPACE} nc %h %p" if in_namespace() else ""


def virsh(*args: str, check: bool = True, uri: str = URI) -> subprocess.CompletedProcess[str]:
    """``virsh -q -c URI ARGS`` (this machine's libvirtd, or a host's ``qemu+ssh://`` one), output
    captured (a failure raises with it when ``check``)."""
    return _run("virsh", "-q", "-c", uri, *args, check=check)


def _wait_socket(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if LIBVIRT_SOCKET.exists() and virsh("version", check=False).returncode == 0:
            return
        time.sleep(0.3)
    raise ToolFailed(f"starting libvirtd failed: it did not answer on {LIBVIRT_SOCKET} within {timeout:.0f} s")


def ensure() -> str:
    """Make sure libvirtd answers; start it in our namespace when nobody runs it.

    Returns how it runs: ``"namespace"`` or ``"host"`` (an existing libvirtd, reused).
    Safe to call from parallel processes (a lock file serialises the start).
    """
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        return _ensure()


def ensure_remote(uri: str) -> None:
    """Make sure the libvirt host at ``uri`` answers and has the pool and the network lab VMs use
    (made as here: the guests' network isolated, DHCP only). Nothing else is done to that host."""
    done = virsh("version", check=False, uri=uri)
    if done.returncode != 0:
        raise ToolFailed(f"the libvirt host {uri} does not answer: {failures.tail(done.stderr) or 'no output'}"
                         " (check: virsh -c URI version)")
    _ensure_pool(uri)
    _ensure_network(uri)


def _ensure() -> str:
    for tool in ("libvirtd", "virtlogd", "virsh", "nc"):
        if not shutil.which(tool):
            raise YarakashiError(f"{tool} is not installed: run the setup (./run setup)")
    ours = in_namespace()
    if not ours and _hosts_own():
        _wait_socket()
        _ensure_pool()
        _ensure_network()
        return "host"
    if not ours:
        global started_here
        started_here = True
        if NAMESPACE not in namespaces():
            _run("ip", "netns", "add", NAMESPACE)
        _run("ip", "netns", "exec", NAMESPACE, "ip", "link", "set", "lo", "up")
        if not any(_ns_of(p) == NAMESPACE for p in _pids("virtlogd")):
            _run("ip", "netns", "exec", NAMESPACE, "virtlogd", "-d")
        _run("ip", "netns", "exec", NAMESPACE, *_without_kvm("libvirtd", "-d"))
    _wait_socket()
    _ensure_pool()
    _ensure_network()
    return "namespace"


def _without_kvm(*argv: str) -> list[str]:
    """``argv`` in a private mount namespace where KVM cannot be used, under TCG.

    Here /dev/kvm exists but nested KVM hangs. libvirtd probes QEMU's capabilities with KVM
    whenever the device is open to the user QEMU runs as, and when that probe ends without
    KVM it counts its cache as stale and probes again at every domain define: 24 s each,
    twice per ``vagrant up`` (measured here with libvirt 9.0's debug log: "KVM was not enabled
    when probing ..., but it should be usable now"). So /dev/kvm becomes a mode-000 device node
    (on a tmpfs of the namespace's own): the user QEMU runs as (Debian: libvirt-qemu) cannot
    open it, libvirtd probes TCG once and keeps the result. A device node, as /dev/kvm was:
    libvirtd moves mounts under /dev into each guest's own /dev and refuses a regular file.
    Nothing is mounted in the host's namespace.

    >>> _without_kvm("libvirtd", "-d")[-2:]
    ['libvirtd', '-d']
    """
    if os.environ.get("YARAKASHI_ACCEL", "tcg") != "tcg" or not Path("/dev/kvm").exists():
        return list(argv)
    NO_KVM.mkdir(parents=True, exist_ok=True)
    script = (f"mount -t tmpfs -o size=64k,mode=0700 yarakashi-no-kvm {NO_KVM} && mknod -m 000 {NO_KVM}/kvm c 1 3"
              f' && mount --bind {NO_KVM}/kvm /dev/kvm && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]


def _ensure_pool(uri: str = URI) -> None:
    if virsh("pool-info", POOL, check=False, uri=uri).returncode != 0:
        if uri == URI:
            POOL_PATH.mkdir(parents=True, exist_ok=True)
        virsh("pool-define-as", POOL, "dir", "--target", str(POOL_PATH), uri=uri)
        if uri != URI:
            virsh("pool-build", POOL, uri=uri)  # the directory, made on the host libvirtd runs on
        virsh("pool-autostart", POOL, uri=uri)
    if "running" not in virsh("pool-info", POOL, uri=uri).stdout:
        virsh("pool-start", POOL, uri=uri)


def _ensure_network(uri: str = URI) -> None:
    """Define (once) and start the guests' network (see ``NETWORK_XML``)."""
    if virsh("net-info", NETWORK, check=False, uri=uri).returncode != 0:
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as fh:
            fh.write(NETWORK_XML)
            fh.flush()
            virsh("net-define", fh.name, uri=uri)  # virsh reads the file here and sends the XML
    if not re.search(r"^Active:\s+yes", virsh("net-info", NETWORK, uri=uri).stdout, re.M):
        virsh("net-start", NETWORK, uri=uri)


def _namespace_pids() -> list[int]:
    return [int(p) for p in _run("ip", "netns", "pids", NAMESPACE, check=False).stdout.split()]


def _signal_namespace(sig: signal.Signals) -> None:
    """Send ``sig`` to every process in our namespace (libvirtd, virtlogd, dnsmasq)."""
    for pid in _namespace_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def teardown() -> bool:
    """Stop the daemons in our namespace and remove it. Refuses while domains run; leaves it
    up (returns False) while another process is making a lab VM (it holds a place), as a
    checkout's ``lab.destroy all`` must not pull libvirtd from under another's ``vagrant up``.
    Serialised with :func:`ensure`."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        making = capacity.being_made()
        if making:
            say(f"the lab network stays up: {len(making)} lab VMs being made ({', '.join(sorted(making))})")
            return False
        _teardown()
        return True


def _teardown() -> None:
    if NAMESPACE not in namespaces():
        return
    left = virsh("list", "--state-running", "--name", check=False).stdout.split()
    if left:
        raise YarakashiError(f"VMs still running in {NAMESPACE}: {', '.join(left)}; destroy them first")
    for net in virsh("net-list", "--name", check=False).stdout.split():
        virsh("net-destroy", net, check=False)
    _signal_namespace(signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _namespace_pids():
        time.sleep(0.2)
    _signal_namespace(signal.SIGKILL)
    _run("ip", "netns", "delete", NAMESPACE, check=False)
