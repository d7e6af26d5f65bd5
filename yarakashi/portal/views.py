"""What the portal's pages show, as data (the templates render it, the JSON returns it): a
team's page, one of its events, the facilitator's board and the room's results. Nothing a team's
view holds names the cause, a lab or a VM: its checks come through :mod:`~yarakashi.portal.words`.

>>> from yarakashi.portal import web
>>> p = web.demo()
>>> view = team(p.room, p.jobs, p.roster, p.roster.teams[0])
>>> view["title"], view["started"], [heading for heading, _ in view["brief"]]
('新しいサーバで `make deploy` が止まり、どのコマンドも動かなくなった', None, ['状況', 'ゴール', 'ルール'])
"""

from __future__ import annotations

import time
from typing import Any

from yarakashi import roster, workshop
from yarakashi.portal import words
from yarakashi.portal.bastion import Access
from yarakashi.portal.jobs import Jobs
from yarakashi.roomstate import Event, Room

#: The requests a team makes (its page lists them).
TEAM_ACTIONS = ("hint", "reset", "check")


def event(jobs: Jobs, lang: str, e: Event) -> dict[str, object]:
    """An event as its team reads it: kind, state, times, place in the queue, the trainee's
    verdict or hint; an ERROR's own words stay with the facilitator."""
    view: dict[str, object] = {"id": e.id, "kind": e.kind, "state": e.state, "asked": e.started, "ran": e.ran, "ended": e.ended,
                               "asked_at": time.strftime("%H:%M:%S", time.localtime(e.started)), "verdict": e.verdict,
                               "place": jobs.place(e.id)}
    if e.kind in ("check", "retest") and "trainee" in e.detail:
        view["result"] = e.detail["trainee"][lang]
    if e.kind == "hint" and e.state == "done":
        view["hint"] = {k: e.detail.get(k) for k in ("n", "total", "text")}
    return view


def team(room: Room, jobs: Jobs, r: roster.Roster, team: roster.Team, access: Access | None = None) -> dict[str, object]:
    """A team's page as data: its brief, clock, hints given, its events, newest first, and how
    its members reach their servers (``access``: the room's SSH door)."""
    events = room.events(team.name)
    starts = [e for e in events if e.kind in ("start", "destroy") and e.state == "done"]
    started = starts[-1].ended if starts and starts[-1].kind == "start" else None
    lang = r.lang
    return {
        "room": r.name, "team": team.name, "lang": lang, "title": team.lab.symptom_ja if lang == "ja" and team.lab.symptom_ja
        else team.lab.symptom or team.lab.trainee_name,
        "brief": words.page_brief(workshop.brief(team.lab, lang)), "started": started, "minutes": team.lab.minutes,
        "now": time.time(), "hints": [e.detail for e in events if e.kind == "hint" and e.state == "done" and e.detail.get("text")],
        "no_more_hints": any(e.kind == "hint" and e.state == "done" and e.detail.get("text") == "" for e in events),
        "events": [event(jobs, lang, e) for e in reversed(events) if e.kind in TEAM_ACTIONS],
        "active": any(e.state in ("queued", "running") for e in events),
        "ssh": {"servers": list(team.lab.server_names), "config": access.config(team.name, team.lab.server_names),
                "key": access.made[team.name].name if team.name in access.made and not key_taken(events) else ""} if access else None,
    }


def key_taken(events: list[Event]) -> bool:
    """Whether the team took the key made for it (it is handed out once)."""
    return any(e.kind == "key" for e in events)


RESULT_FIELDS = ("team", "lab", "started", "minutes_used", "hints", "resets", "checks", "last_check", "retest", "retest_ended")


def results(room: Room, r: roster.Roster) -> list[dict[str, Any]]:
    """A row per team for the board and its CSV/JSON export."""
    rows = []
    for team in r.teams:
        events = room.events(team.name)
        done = [e for e in events if e.state == "done"]
        start = next((e for e in reversed(done) if e.kind == "start"), None)
        checks = [e for e in done if e.kind == "check"]
        retest = next((e for e in reversed(done) if e.kind == "retest"), None)
        rows.append({
            "team": team.name, "lab": team.lab.name, "started": start.ended if start else None,
            "minutes_used": int((time.time() - start.ended) // 60) if start and start.ended else None,
            "hints": sum(1 for e in done if e.kind == "hint" and e.detail.get("text")), "resets": sum(1 for e in done if e.kind == "reset"),
            "checks": len(checks), "last_check": checks[-1].verdict if checks else None,
            "retest": retest.verdict if retest else None, "retest_ended": retest.ended if retest else None,
        })
    return rows


def board(room: Room, jobs: Jobs, r: roster.Roster, secrets: dict[str, str]) -> dict[str, Any]:
    """The board as data: every team's row, its current job and lines, the teams' page addresses."""
    rows = results(room, r)
    for row in rows:
        events = room.events(str(row["team"]))
        current = next((e for e in reversed(events) if e.state in ("queued", "running")), None)
        last = events[-1] if events else None
        row["alias"] = next(t.lab.trainee_name for t in r.teams if t.name == row["team"])
        row["page"] = f"/t/{secrets[str(row['team'])]}"
        row["job"] = {"id": current.id, "kind": current.kind, "state": current.state, "place": jobs.place(current.id),
                      "lines": jobs.lines(current.id)[-5:]} if current else None
        row["last"] = {"kind": last.kind, "state": last.state, "verdict": last.verdict, "error": last.detail.get("error")} if last else None
    return {"room": r.name, "teams": rows, "labs": sorted({t.lab.name for t in r.teams}), "now": time.time()}


