"""The workshop: the catalogue (the facilitator's and the trainees'), a trainee's lab started at
the team's moment, a hint, a reset, and the incident's timeline.

>>> [row.name for row in catalogue_rows(trainee=True)][:1]
['db-stops-after-reboot']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from yarakashi import YarakashiError, capacity, catalogue, failures, hosts, paths, roster, timeline, workshop
from yarakashi.app import target
from yarakashi.app.target import Target
from yarakashi.machine import Machine


@dataclass(frozen=True)
class LabRow:
    """A lab in the catalogue: its name (the trainees' alias in their catalogue), title (en, ja), size."""

    name: str
    title: str
    title_ja: str
    size: str
    platforms: list[tuple[str, str]]  # (platform, its evidence level); empty in the trainees' catalogue
    alias: str = ""


def catalogue_rows(trainee: bool = False) -> list[LabRow]:
    """Every lab; ``trainee``: as trainees see it, by the name that says what the team saw, its
    situation and size: no cause, no fix."""
    rows = []
    for lab in catalogue.labs().values():
        size = f"level {lab.level or '?'}, about {lab.minutes} min" if lab.minutes else f"level {lab.level or '?'}"
        if trainee:
            rows.append(LabRow(lab.trainee_name, lab.symptom or lab.title, lab.symptom_ja or lab.title_ja, size, []))
        else:
            plats = [(p, catalogue.platform(p).evidence) for p in lab.platforms]
            rows.append(LabRow(lab.name, lab.title, lab.title_ja, size, plats, lab.alias))
    return rows


@dataclass(frozen=True)
class TeamRow:
    """A team of a room's plan: its lab (and the name its members see), its servers' memory."""

    team: str
    lab: str
    trainee_name: str
    servers: list[tuple[str, int]]  # (server, MiB)


@dataclass(frozen=True)
class RoomPlan:
    """What a room needs of this host: lab guests and their memory, against what it runs at once."""

    room: str
    lang: str
    teams: list[TeamRow]
    guests: int
    memory_mib: int
    places: int  # lab guests this host runs at once (``capacity.cap``)
    fits: bool


def plan(path: Path) -> RoomPlan:
    """``room.plan ROSTER``: the roster read and checked, and whether every team's servers run
    at once on this host (``capacity``: cores and memory); nothing is made."""
    r = roster.load(path)
    rows = [TeamRow(t.name, t.lab.name, t.lab.trainee_name,
                    list(zip(t.lab.server_names, [t.lab.memory, *(s.memory for s in t.lab.machines)])))
            for t in r.teams]
    servers = [mib for row in rows for _, mib in row.servers]
    places = capacity.cap()
    return RoomPlan(r.name, r.lang, rows, len(servers), sum(servers), places, len(servers) <= places)


def start(t: Target, lang: str, start_timeout: int = 0, keys: Sequence[str] = ()) -> str:
    """``lab.start``: the trainee's VM at the team's moment (on this machine, or on the libvirt
    host ``t.host``), its ``isucon`` login taking ``keys``; the brief and the clock line. A
    trainee's earlier lab elsewhere goes first."""
    t = target.check_platform(t)
    before = target.machines(replace(t, host=None))[0]  # where the trainee's VM runs now, if anywhere
    m = target.machines(replace(t, host=t.host or hosts.parse(None)))[0]  # a new VM: here unless a host is named
    with target.hold(m):
        if before.exists() and before.runs_on != m.runs_on:  # the trainee's earlier lab, removed where it runs
            before.destroy()
        try:
            return workshop.start(m, lang, start_timeout, keys)
        except failures.Interrupted as exc:
            m.destroy()
            exc.cleaned.append(f"VM {m.domain}")
            raise


def reset(t: Target, lang: str) -> str:
    """``lab.reset``: back to the moment ``lab.start`` saved."""
    m = target.started(t)
    with target.hold(m):
        return workshop.reset(m, lang)


def hint(t: Target, lang: str) -> str:
    """``lab.hint``: the next hint, counted."""
    m = target.started(t)
    with target.hold(m):
        return workshop.hint(m, lang)


def next_hint(t: Target, lang: str) -> tuple[int, int, str]:
    """The next hint as data (the room's portal): its number, the number of hints, its text."""
    m = target.started(t)
    with target.hold(m):
        return workshop.next_hint(m, lang)


def timeline_of(t: Target, out: Path | None = None) -> tuple[list[timeline.Moment], Path]:
    """``lab.timeline``: the moments of the VM's current boot beside the post's lines, and the
    self-contained HTML page with the picture (written to ``out``)."""
    lab = t.lab
    if not lab.timeline:
        having = ", ".join(n for n, one in catalogue.labs().items() if one.timeline)
        raise YarakashiError(f"lab {lab.name} has no timeline marks ([[timeline]] in lab.toml); labs with them: {having}")
    m = target.made(t)
    found = timeline.moments(lab.timeline, _journals(m))
    path = out or paths.WORK / "reports" / f"{lab.name}-{m.platform.name}-{m.instance}-timeline.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(timeline.page(lab, m.platform.name, found))
    return found, path


def _journals(m: Machine) -> dict[str, str]:
    """This boot's journal of ``m`` ('') and of its other machines that exist (by name): s1's marks come from s1's."""
    journals = {}
    for one in [m, *(o for o in m.others() if o.exists())]:
        with failures.step(f"reading the journal of {one.name}"):
            done = one.guest.ssh(f"sudo -n {timeline.JOURNAL}", timeout=120)
            if done.returncode != 0:
                raise failures.ToolFailed(f"reading the journal of {one.name} failed: ssh exited {done.returncode}: "
                                          f"{failures.tail(done.stderr) or 'no output'}")
        journals["" if one is m else one.vm] = done.stdout
    return journals
