"""The room's SSH door, as a contest's bastion: one SSH server on the host that a team's key
logs into, only to be forwarded (``ssh -J``) to that team's own servers by the names the team
knows. No shell, no command, no account on the host, no other address.

    ssh -J team1@HOST:2222 isucon@s1

Each forwarded connection reaches the server through ``upstream`` (by default the lab
network's own way in, ``ip netns exec yarakashi nc HOST 22``), so the door needs no route to
the guests from the host's namespace.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

with warnings.catch_warnings():  # asyncssh still names DSA, which the cryptography package deprecates
    warnings.simplefilter("ignore")
    import asyncssh

from yarakashi import labnet, roster

#: A team's servers as the team names them: name -> the guest's address on the lab network.
Servers = Callable[[str], dict[str, str]]


def team_keys(r: roster.Roster, directory: Path) -> tuple[dict[str, list[str]], dict[str, Path]]:
    """Each team's SSH public keys, and the private key files made for teams the roster gives
    none: a pair made once per team and kept in ``directory`` (a reopened room hands out the same)."""
    keys, made = {}, {}
    for team in r.teams:
        if team.keys:
            keys[team.name] = list(team.keys)
            continue
        private = directory / f"{team.name}_ed25519"
        if not private.exists():
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{team.name}@{r.name}")
            key.write_private_key(str(private))
            private.chmod(0o600)
        keys[team.name] = [asyncssh.read_private_key(str(private)).export_public_key().decode().strip()]
        made[team.name] = private
    return keys, made


def through_namespace(host: str, port: int) -> list[str]:
    """The command that opens a TCP stream to ``host:port`` on the lab network (stdin/stdout)."""
    proxy = labnet.proxy_command() or "nc %h %p"
    return proxy.replace("%h", host).replace("%p", str(port)).split()


class _Team(asyncssh.SSHServer):
    def __init__(self, door: "Door"):
        self.door = door
        self.team = ""

    def begin_auth(self, username: str) -> bool:
        keys = self.door.keys.get(username)
        if keys:
            self.team = username
            self.conn.set_authorized_keys(asyncssh.import_authorized_keys("\n".join(keys)))
        return True

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int):  # noqa: ANN201
        address = self.door.servers(self.team).get(dest_host)
        if not address or dest_port != 22:
            mine = ", ".join(sorted(self.door.servers(self.team))) or "none yet"
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                                            f"{dest_host}:{dest_port} is not one of your servers (yours: {mine}, port 22)")
        return lambda reader, writer: self.door.pipe(address, reader, writer)

    def session_requested(self) -> bool:
        return False  # no shell and no command here: the door only forwards


class Door:
    """The SSH door of a room: ``keys`` per team (its login name), ``servers`` per team."""

    def __init__(self, keys: dict[str, list[str]], servers: Servers, host_key: Path,
                 upstream: Callable[[str, int], list[str]] = through_namespace):
        self.keys, self.servers, self.host_key, self.upstream = keys, servers, host_key, upstream

    def key(self) -> asyncssh.SSHKey:
        """The door's host key, made once and kept (teams' known_hosts stay valid across restarts)."""
        if not self.host_key.exists():
            self.host_key.parent.mkdir(parents=True, exist_ok=True)
            asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(self.host_key))
            self.host_key.chmod(0o600)
        return asyncssh.read_private_key(str(self.host_key))

    async def serve(self, address: str, port: int) -> asyncssh.SSHAcceptor:
        """Listen on ``address:port``; the acceptor (``close()`` stops it)."""
        return await asyncssh.create_server(lambda: _Team(self), address, port, server_host_keys=[self.key()],
                                            allow_scp=False, agent_forwarding=False, x11_forwarding=False)

    async def pipe(self, address: str, reader: asyncssh.SSHReader, writer: asyncssh.SSHWriter) -> None:
        """Copy one forwarded connection to and from the server through ``upstream``."""
        proc = await asyncio.create_subprocess_exec(*self.upstream(address, 22), stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin and stdout

        async def up() -> None:
            while data := await reader.read(65536):
                stdin.write(data)
                await stdin.drain()
            stdin.close()

        async def down() -> None:
            while data := await stdout.read(65536):
                writer.write(data)
            writer.write_eof()

        try:
            await asyncio.gather(up(), down())
        except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
            pass
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            writer.close()


@dataclass
class Access:
    """How a room's teams reach their servers: the :class:`Door`, where it listens, the host
    name teams type for it, and the private key files made for teams (their download).

    >>> a = Access(None, "0.0.0.0", 2222, "lab.example", {"a": Path("a_ed25519")})
    >>> print(a.config("a", ("s1",)))  # doctest: +NORMALIZE_WHITESPACE
    Host bastion
      HostName lab.example
      Port 2222
      User a
      IdentityFile ~/.ssh/a_ed25519
    Host s1
      User isucon
      ProxyJump bastion
      IdentityFile ~/.ssh/a_ed25519
    """

    door: Door | None
    address: str
    port: int
    host: str
    made: dict[str, Path] = field(default_factory=dict)

    def config(self, team: str, servers: tuple[str, ...]) -> str:
        """The team's ``~/.ssh/config`` lines: then ``ssh s1`` (the key line only for a key made here)."""
        key = f"  IdentityFile ~/.ssh/{self.made[team].name}\n" if team in self.made else ""
        return (f"Host bastion\n  HostName {self.host}\n  Port {self.port}\n  User {team}\n{key}"
                f"Host {' '.join(servers)}\n  User isucon\n  ProxyJump bastion\n{key}").rstrip("\n")
