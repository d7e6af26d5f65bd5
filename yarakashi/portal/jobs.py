"""A room's jobs: what teams and the facilitator ask, each run in a thread of its own and
recorded in the room's state. One job at a time per team, as a contest's benchmark queue
runs one per team; checks and re-tests (real reboots, the host's CPU) at most ``at_once``
across the room, in the order asked, the others ``queued`` with their place shown.

>>> import tempfile
>>> from pathlib import Path
>>> from yarakashi import roster, roomstate
>>> from yarakashi.portal.backend import Fake
>>> r = roster.parse("[room]\\nname = 'dojo'\\n[[teams]]\\nname = 'a'\\nlab = 'rsync-dirlinks'\\n")
>>> room = roomstate.Room(Path(tempfile.mkdtemp()) / "room.db"); _ = room.seat(r)
>>> jobs = Jobs(room, Fake(), r)
>>> jobs.wait(jobs.submit("a", "hint")).detail["n"]
1
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from yarakashi import YarakashiError, calls, failures, roster
from yarakashi.portal import words
from yarakashi.portal.backend import Backend
from yarakashi.roomstate import Event, Room

#: Kinds that reboot servers for real: they wait for a place among ``at_once``.
HEAVY = ("check", "retest", "start", "reset")
#: A team's checks start at least this many seconds apart (a button pressed again and again
#: would fill the queue for everyone).
CHECK_GAP = 60.0


class Refused(YarakashiError):
    """A request the room does not take now; ``key`` names the page's words for it."""

    def __init__(self, key: str, status: int, **values: object):
        super().__init__(key)
        self.key, self.status, self.values = key, status, values


@dataclass
class Job:
    """A running or queued job: its event, its progress lines, its cancel."""

    event: int
    team: str
    kind: str
    call: calls.Call
    lines: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    #: It holds one of the room's ``at_once`` places for heavy jobs.
    placed: bool = False


class Jobs:
    """The room's jobs over ``backend``; ``at_once`` heavy jobs run together."""

    def __init__(self, room: Room, backend: Backend, r: roster.Roster, at_once: int = 1, check_gap: float = CHECK_GAP):
        self.room, self.backend, self.roster, self.at_once, self.check_gap = room, backend, r, max(1, at_once), check_gap
        self.teams = {t.name: t for t in r.teams}
        self.lock = threading.Condition()
        self.jobs: dict[int, Job] = {}
        self.queue: deque[int] = deque()  # heavy jobs waiting, oldest first
        self.heavy_running = 0
        self.last_check: dict[str, float] = {}

    def submit(self, team: str, kind: str) -> int:
        """Start ``kind`` for ``team`` (queued if heavy and the room is full); its event id.
        Refused while the team has a job, and for a check asked too soon after the last one."""
        with self.lock:
            if any(j.team == team and not j.done.is_set() for j in self.jobs.values()):
                raise Refused("busy", 409)
            if kind == "check":
                left = self.last_check.get(team, -1e9) + self.check_gap - time.monotonic()
                if left > 0:
                    raise Refused("too_soon", 429, seconds=int(self.check_gap), left=int(left) + 1)
                self.last_check[team] = time.monotonic()
            heavy = kind in HEAVY
            queued = heavy and (self.heavy_running >= self.at_once or bool(self.queue))
            event = self.room.begin(team, kind, queued=queued)
            job = Job(event, team, kind, calls.Call())
            job.call.report = job.lines.append
            self.jobs[event] = job
            if queued:
                self.queue.append(event)
            elif heavy:
                self.heavy_running += 1
                job.placed = True
        threading.Thread(target=self._run, args=(job, queued), name=f"job-{event}", daemon=True).start()
        return event

    def place(self, event: int) -> int | None:
        """A queued job's place in the queue (1: next), None when it is not queued."""
        with self.lock:
            return self.queue.index(event) + 1 if event in self.queue else None

    def lines(self, event: int) -> list[str]:
        """The progress lines of a job this server runs or ran (the facilitator's view)."""
        job = self.jobs.get(event)
        return list(job.lines) if job else []

    def wait(self, event: int, timeout: float | None = None) -> Event:
        """The event once its job ended (tests, the re-test of every team)."""
        job = self.jobs[event]
        job.done.wait(timeout)
        found = self.room.event(event)
        assert found
        return found

    def stop(self) -> None:
        """Cancel every job and wait for each to clean up (the server is stopping)."""
        with self.lock:
            running = list(self.jobs.values())
            self.queue.clear()
            self.lock.notify_all()
        for job in running:
            job.call.cancel.set()
        for job in running:
            job.done.wait(600)

    def _run(self, job: Job, queued: bool) -> None:
        try:
            if queued and not self._turn(job):
                self.room.end(job.event, None, {}, state="interrupted")
                return
            self.room.run(job.event)
            with calls.following(job.call):
                verdict, detail = self._do(job)
            self.room.end(job.event, verdict, detail)
        except failures.Interrupted:
            self.room.end(job.event, None, {"lines": job.lines[-20:]}, state="interrupted")
        except Exception as exc:  # noqa: BLE001 - any failure is the job's ERROR, its words for the facilitator only
            self.room.end(job.event, "ERROR", {"error": str(exc) or type(exc).__name__, "lines": job.lines[-20:]})
        finally:
            with self.lock:
                if job.placed:
                    self.heavy_running -= 1
                self.lock.notify_all()
            job.done.set()

    def _turn(self, job: Job) -> bool:
        """Wait until the queued ``job`` is first and a place is free; False if cancelled."""
        with self.lock:
            while not (self.queue and self.queue[0] == job.event and self.heavy_running < self.at_once):
                if job.call.cancel.is_set() or job.event not in self.queue:
                    if job.event in self.queue:
                        self.queue.remove(job.event)
                    return False
                self.lock.wait(1)
            self.queue.popleft()
            self.heavy_running += 1
            job.placed = True
            return True

    def _do(self, job: Job) -> tuple[str | None, dict]:
        team = self.teams[job.team]
        lang = self.roster.lang
        if job.kind == "hint":
            n, total, text = self.backend.hint(team, lang)
            return None, {"n": n, "total": total, "text": text}
        if job.kind in ("check", "retest"):
            report = self.backend.check(team) if job.kind == "check" else self.backend.retest(team)
            return ("PASS" if report.passed else "FAIL"), {"trainee": {lng: words.trainee_report(report, team.lab, lng) for lng in words.LANGS},
                                                           "report": report.to_dict()}
        {"start": self.backend.start, "reset": self.backend.reset, "destroy": self.backend.destroy}[job.kind](team, lang)
        return None, {}
