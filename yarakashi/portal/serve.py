"""``invoke room.open ROSTER``: the room's portal served over HTTP until Ctrl-C, its state in
``.work/rooms/<room>.db`` (a second open of the same roster finds its teams, secrets and
events again), the addresses printed for the facilitator.

>>> listen("127.0.0.1", "8080"), listen("::1", "80")
(('127.0.0.1', 8080), ('::1', 80))
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path

from yarakashi import YarakashiError, failures, paths, roomstate, roster
from yarakashi.portal import bastion, web
from yarakashi.portal.backend import Labs


def listen(address: str, port: str, option: str = "--port") -> tuple[str, int]:
    """The address and port to listen on, checked: an IP address, a port from 1 to 65535."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise YarakashiError(f"--address must be an IP address of this host (127.0.0.1, 0.0.0.0...), not {address!r}") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise YarakashiError(f"{option} must be a port number from 1 to 65535, not {port!r}")
    return address, int(port)


def free(address: str, port: int, option: str) -> None:
    """Fail in one line, before anything is made, when ``address:port`` is taken."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            raise YarakashiError(f"{option} {port}: cannot listen on {address}: {exc.strerror}") from None


def door_host(address: str, given: str | None) -> str:
    """The host name teams type for the SSH door: ``given``, else the address it listens on
    (this host's name when that is every address).

    >>> door_host("192.0.2.7", None), door_host("0.0.0.0", "lab.example")
    ('192.0.2.7', 'lab.example')
    """
    if given:
        if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", given):
            raise YarakashiError(f"--ssh-host must be a host name or address, not {given!r}")
        return given
    return socket.getfqdn() if ipaddress.ip_address(address).is_unspecified else address


def state_file(r: roster.Roster) -> Path:
    """Where the room's state lives: one SQLite file per room name."""
    return paths.WORK / "rooms" / (re.sub(r"[^A-Za-z0-9._-]", "_", r.name) + ".db")


def serve(path: Path, address: str = "127.0.0.1", port: str = "8080", at_once: int | None = None,
          ssh_port: str = "2222", ssh_host: str | None = None) -> None:
    """Open the room of the roster ``path`` and serve its portal and the teams' SSH door until stopped."""
    import uvicorn  # the portal's server: imported here so the other tasks start without it

    r = roster.load(path)
    host, number = listen(address, port)
    _, door_port = listen(address, ssh_port, "--ssh-port")
    if door_port == number:
        raise YarakashiError(f"--ssh-port must differ from --port ({number})")
    for option, wanted in (("--port", number), ("--ssh-port", door_port)):
        free(host, wanted, option)
    shown = door_host(address, ssh_host)
    state = state_file(r)
    keys, made = bastion.team_keys(r, state.with_suffix(".keys"))
    backend = Labs(r.start_timeout, keys)
    teams = {t.name: t for t in r.teams}
    door = bastion.Door(keys, lambda name: backend.servers(teams[name]) if name in teams else {}, state.with_suffix(".host_key"))
    access = bastion.Access(door, host, door_port, shown, made)
    portal = web.make(r, roomstate.Room(state), backend, at_once or os.cpu_count() or 1, access)
    base = f"http://{'[' + host + ']' if ':' in host else host}:{number}"
    print(f"room {r.name}: {len(r.teams)} teams, state in {state}")
    print(f"teams' SSH door: {shown} port {door_port} (ssh -J TEAM@{shown}:{door_port} isucon@s1)")
    print(f"facilitator's board: {base}/a/{portal.admin}")
    for name, secret in sorted(portal.secrets.items()):
        print(f"team {name}: {base}/t/{secret}")
    print("Ctrl-C stops the portal; the labs keep running and the next room.open finds them again", flush=True)
    server = uvicorn.Server(uvicorn.Config(portal.app, host=host, port=number, log_level="warning"))
    try:
        server.run()  # returns once stopped; its jobs are cancelled and cleaned up first (web.make's lifespan)
    except failures.Interrupted:
        pass  # uvicorn hands the Ctrl-C it handled on to the handler before it: a room closes this way
    print(f"room {r.name} closed: its labs keep running; ./run room.open {path} opens it again")
