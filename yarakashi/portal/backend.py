"""What a team's action does to its lab: the application layer (:mod:`yarakashi.app`) on the
team's own VMs (a trainee instance named after the team). The portal's tests give :class:`Fake`,
which keeps the same contract without VMs.

>>> Fake().hint(None, "en")[:2]
(1, 3)
"""

from __future__ import annotations

import threading
from typing import Protocol

from yarakashi import failures, roster, verdict
from yarakashi.app import checks, room, target, vms
from yarakashi.app.target import Target


class Backend(Protocol):
    """The operations a room's jobs run for a team."""

    def start(self, team: roster.Team, lang: str) -> None: ...
    def reset(self, team: roster.Team, lang: str) -> None: ...
    def destroy(self, team: roster.Team, lang: str) -> None: ...
    def hint(self, team: roster.Team, lang: str) -> tuple[int, int, str]: ...
    def check(self, team: roster.Team) -> verdict.Report: ...
    def retest(self, team: roster.Team) -> verdict.Report: ...
    def servers(self, team: roster.Team) -> dict[str, str]: ...


class Labs:
    """The real backend: each team's lab VMs on this host (``start_timeout``: the roster's; ``keys``:
    each team's SSH public keys, put on its servers' ``isucon`` login at the start)."""

    def __init__(self, start_timeout: int = 0, keys: dict[str, list[str]] | None = None):
        self.start_timeout, self.keys = start_timeout, keys or {}

    @staticmethod
    def target(team: roster.Team) -> Target:
        """The team's lab, on its trainee instance (``t-<team>``)."""
        return target.resolve(team.lab.name, trainee=team.name)

    def start(self, team: roster.Team, lang: str) -> None:
        room.start(self.target(team), lang, self.start_timeout, self.keys.get(team.name, list(team.keys)))

    def reset(self, team: roster.Team, lang: str) -> None:
        room.reset(self.target(team), lang)

    def destroy(self, team: roster.Team, lang: str) -> None:
        vms.destroy(team.lab, team.name)

    def hint(self, team: roster.Team, lang: str) -> tuple[int, int, str]:
        return room.next_hint(self.target(team), lang)

    def check(self, team: roster.Team) -> verdict.Report:
        return checks.check_mine(self.target(team))

    def retest(self, team: roster.Team) -> verdict.Report:
        return checks.lab_retest(self.target(team))

    def servers(self, team: roster.Team) -> dict[str, str]:
        """The team's servers that are up, by the names it knows (``s1``), with their lab-network addresses."""
        made = [m for m in target.machines(self.target(team)) if m.ssh_config_path.is_file()]
        return {one.server_name: one.address() for m in made for one in (m, *m.others()) if one.ssh_config_path.is_file()}


class Fake:
    """A backend without VMs: three hints, a check that fails until :attr:`fixed` is set, and
    a :attr:`gate` every heavy operation waits on (tests hold a job running with it)."""

    def __init__(self) -> None:
        self.hints = 0
        self.fixed = False
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[tuple[str, str]] = []

    def _heavy(self, what: str, team: roster.Team | None) -> None:
        self.calls.append((what, team.name if team else ""))
        while not self.gate.wait(0.05):
            failures.cancel_point()

    def start(self, team: roster.Team, lang: str) -> None:
        self._heavy("start", team)

    def reset(self, team: roster.Team, lang: str) -> None:
        self._heavy("reset", team)

    def destroy(self, team: roster.Team, lang: str) -> None:
        self.calls.append(("destroy", team.name))

    def hint(self, team: roster.Team | None, lang: str) -> tuple[int, int, str]:
        self.hints = min(self.hints + 1, 4)
        return (self.hints, 3, f"hint {self.hints}") if self.hints <= 3 else (3, 3, "")

    def check(self, team: roster.Team) -> verdict.Report:
        self._heavy("check", team)
        seen = "symlink to usr/lib" if self.fixed else "a real directory"
        return verdict.Report("lab.check", team.name, [("your changes", [verdict.Check.compare("/lib", "symlink to usr/lib", seen)]),
                                                       ("reboot (after your changes)", [verdict.Check.compare("ls / runs", "0", "0")])])

    def servers(self, team: roster.Team) -> dict[str, str]:
        return {"s1": "127.0.0.1"} if ("start", team.name) in self.calls else {}

    def retest(self, team: roster.Team) -> verdict.Report:
        self._heavy("retest", team)
        return verdict.Report("retest", team.name, [("retest", [verdict.Check.compare("ssh.service active", "active", "active")])])
