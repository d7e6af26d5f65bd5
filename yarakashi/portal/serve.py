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
from pathlib import Path

from yarakashi import YarakashiError, failures, paths, roomstate, roster
from yarakashi.portal import web
from yarakashi.portal.backend import Labs


def listen(address: str, port: str) -> tuple[str, int]:
    """The address and port to listen on, checked: an IP address, a port from 1 to 65535."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise YarakashiError(f"--address must be an IP address of this host (127.0.0.1, 0.0.0.0...), not {address!r}") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise YarakashiError(f"--port must be a port number from 1 to 65535, not {port!r}")
    return address, int(port)


def state_file(r: roster.Roster) -> Path:
    """Where the room's state lives: one SQLite file per room name."""
    return paths.WORK / "rooms" / (re.sub(r"[^A-Za-z0-9._-]", "_", r.name) + ".db")


def serve(path: Path, address: str = "127.0.0.1", port: str = "8080", at_once: int | None = None) -> None:
    """Open the room of the roster ``path`` and serve its portal until stopped."""
    import uvicorn  # the portal's server: imported here so the other tasks start without it

    r = roster.load(path)
    host, number = listen(address, port)
    portal = web.make(r, roomstate.Room(state_file(r)), Labs(r.start_timeout), at_once or os.cpu_count() or 1)
    base = f"http://{'[' + host + ']' if ':' in host else host}:{number}"
    print(f"room {r.name}: {len(r.teams)} teams, state in {state_file(r)}")
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
