"""A workshop room's state in SQLite: its teams with their secrets, and every start, hint, reset
and check with its times and verdict. The room's server can stop and start again: nothing is
lost, and a check that was running when it stopped is marked interrupted, not left running.

Secrets come from :mod:`secrets` and are compared in constant time; a team is only ever found
by its whole secret.

>>> import tempfile
>>> from yarakashi import roster
>>> r = roster.parse("[room]\\nname = 'dojo'\\n[[teams]]\\nname = 'a'\\nlab = 'rsync-dirlinks'\\n")
>>> room = Room(Path(tempfile.mkdtemp()) / "room.db")
>>> secret = room.seat(r)["a"]
>>> room.team(secret), room.team("guess")
('a', None)
>>> n = room.begin("a", "check"); room.end(n, "FAIL", {"failed": ["/lib"]}); [(e.kind, e.state, e.verdict) for e in room.events("a")]
[('check', 'done', 'FAIL')]
"""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from yarakashi import roster

SCHEMA = """
CREATE TABLE IF NOT EXISTS teams (name TEXT PRIMARY KEY, lab TEXT NOT NULL, secret TEXT NOT NULL, keys TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS room (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, team TEXT NOT NULL REFERENCES teams(name), kind TEXT NOT NULL,
  state TEXT NOT NULL, started REAL NOT NULL, ran REAL, ended REAL, verdict TEXT, detail TEXT);
"""
#: What is done for a team, each an event: asked by the team (hint, reset, check) or by the
#: facilitator (start, destroy, and the organisers' re-test); ``key``: the team took the key made for it.
KINDS = ("start", "hint", "reset", "check", "destroy", "retest", "key")
#: An event's states: asked and waiting for its turn, running, then done or interrupted.
STATES = ("queued", "running", "done", "interrupted")


@dataclass(frozen=True)
class Event:
    """One start, hint, reset, check, destroy or re-test of a team, in one of :data:`STATES`;
    ``started`` is when it was asked, ``ran`` when its turn came."""

    id: int
    team: str
    kind: str
    state: str
    started: float
    ran: float | None
    ended: float | None
    verdict: str | None
    detail: dict


class Room:
    """The state of one room, in the SQLite file ``path`` (made on first use)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # One connection for the portal's request loop and its job threads: each statement runs
        # whole under this lock (Python's sqlite3 leaves serializing a shared connection to us).
        self.lock = threading.RLock()
        self.db.executescript(SCHEMA)
        # The server that wrote a queued or running event is gone: whatever it ran did not finish.
        self.db.execute("UPDATE events SET state = 'interrupted', ended = ? WHERE state IN ('queued', 'running')", (time.time(),))

    def seat(self, r: roster.Roster) -> dict[str, str]:
        """Each team of ``r`` with its secret: a team seated before keeps its own (its page's
        address stays valid), a new one gets a new one. The facilitator's secret too (``admin``)."""
        with self.lock, self.db:
            self.db.execute("INSERT OR IGNORE INTO room VALUES ('admin', ?)", (secrets.token_urlsafe(24),))
            for t in r.teams:
                self.db.execute("INSERT INTO teams VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET lab = excluded.lab, "
                                "keys = excluded.keys", (t.name, t.lab.name, secrets.token_urlsafe(24), json.dumps(t.keys)))
        return dict(self._rows("SELECT name, secret FROM teams"))

    def admin_secret(self) -> str:
        """The facilitator's secret (made by :meth:`seat`)."""
        return str(self._rows("SELECT value FROM room WHERE key = 'admin'")[0][0])

    def admin(self, secret: str) -> bool:
        """Whether ``secret`` is the facilitator's."""
        rows = self._rows("SELECT value FROM room WHERE key = 'admin'")
        return bool(rows) and hmac.compare_digest(rows[0][0].encode(), secret.encode())

    def team(self, secret: str) -> str | None:
        """The team whose secret this is, else None; every team's secret is compared, in constant time."""
        found = None
        for name, own in self._rows("SELECT name, secret FROM teams"):
            if hmac.compare_digest(own.encode(), secret.encode()):
                found = name
        return found

    def begin(self, team: str, kind: str, queued: bool = False) -> int:
        """A new ``running`` event of ``team`` (``queued``: waiting for its turn); its id."""
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}; valid kinds: {', '.join(KINDS)}")
        now = time.time()
        with self.lock:
            return int(self.db.execute("INSERT INTO events (team, kind, state, started, ran) VALUES (?, ?, ?, ?, ?)",
                                       (team, kind, "queued" if queued else "running", now, None if queued else now)).lastrowid or 0)

    def run(self, event: int) -> None:
        """The queued event ``event`` has its turn: ``running``."""
        self._rows("UPDATE events SET state = 'running', ran = ? WHERE id = ? AND state = 'queued'", (time.time(), event))

    def end(self, event: int, verdict: str | None = None, detail: dict | None = None, state: str = "done") -> None:
        """The event ``event`` ``done`` (or ``interrupted``), with its verdict (a check's PASS or
        FAIL, ERROR when it could not finish) and what it said."""
        self._rows("UPDATE events SET state = ?, ended = ?, verdict = ?, detail = ? WHERE id = ? AND state IN ('queued', 'running')",
                   (state, time.time(), verdict, json.dumps(detail or {}), event))

    def events(self, team: str | None = None) -> list[Event]:
        """Every event of ``team`` (None: of every team), oldest first."""
        rows = self._rows("SELECT id, team, kind, state, started, ran, ended, verdict, detail FROM events"
                          + (" WHERE team = ?" if team else "") + " ORDER BY id", (team,) if team else ())
        return [Event(id_, name, kind, state, started, ran, ended, verdict, json.loads(detail or "{}"))
                for id_, name, kind, state, started, ran, ended, verdict, detail in rows]

    def event(self, event: int) -> Event | None:
        """The event ``event``, None if there is none."""
        return next((e for e in self.events() if e.id == event), None)

    def teams(self) -> dict[str, str]:
        """Each seated team's lab."""
        return dict(self._rows("SELECT name, lab FROM teams ORDER BY name"))

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Run one statement under the lock; its rows."""
        with self.lock:
            return self.db.execute(sql, args).fetchall()
