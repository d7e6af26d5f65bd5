"""The room's SSH door with OpenSSH's own client on loopback: a team's key reaches its own
servers by name and nothing else; no shell; another team's key is refused."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from yarakashi.portal.bastion import Door


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def door(tmp_path: Path) -> Iterator[tuple[int, dict[str, Path]]]:
    """A door for teams a (s1) and b (s2) on loopback; each 'server' is an upper-casing echo."""
    keys: dict[str, Path] = {}
    for team in ("a", "b"):
        keys[team] = tmp_path / f"id_{team}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys[team])], check=True)
    echo_port, door_port = free_port(), free_port()
    servers = {"a": {"s1": "127.0.0.1"}, "b": {"s2": "127.0.0.1"}}
    d = Door({t: [k.with_suffix(".pub").read_text()] for t, k in keys.items()}, lambda team: servers.get(team, {}),
             tmp_path / "host_key", upstream=lambda host, _port: ["nc", "-q", "0", host, str(echo_port)])
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read()).upper())
        await writer.drain()
        writer.close()

    async def main() -> None:
        await asyncio.start_server(echo, "127.0.0.1", echo_port)
        await d.serve("127.0.0.1", door_port)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(main()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(20)
    yield door_port, keys
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def ssh(port: int, key: Path, user: str, *args: str, data: str = "", command: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-p", str(port), "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                           "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
                           *args, f"{user}@127.0.0.1", *command], input=data, capture_output=True, text=True, timeout=30)


def test_a_teams_key_reaches_its_own_server_by_name(door) -> None:
    port, keys = door
    done = ssh(port, keys["a"], "a", "-W", "s1:22", data="hello isucon\n")
    assert (done.returncode, done.stdout) == (0, "HELLO ISUCON\n"), done.stderr


def test_another_teams_server_another_address_or_port_is_refused(door) -> None:
    port, keys = door
    for target in ("s2:22", "127.0.0.1:22", "s1:80"):
        done = ssh(port, keys["a"], "a", "-W", target, data="x\n")
        assert done.returncode != 0 and done.stdout == "", target
        assert "prohibited" in done.stderr or "not one of your servers" in done.stderr, done.stderr


def test_a_key_logs_in_only_as_its_own_team(door) -> None:
    port, keys = door
    done = ssh(port, keys["b"], "a", "-W", "s1:22", data="x\n")
    assert done.returncode == 255 and "Permission denied" in done.stderr
    assert ssh(port, keys["b"], "nobody", "-W", "s1:22").returncode == 255


def test_the_door_gives_no_shell_and_runs_no_command(door) -> None:
    port, keys = door
    for args, command in (((), ()), ((), ("true",)), (("-s",), ("sftp",))):
        done = ssh(port, keys["a"], "a", *args, command=command)
        assert done.returncode == 255 and "open failed: connect failed: Session refused" in done.stderr, (command, done.stderr)
