"""The room's pages: a team's page at ``/t/<secret>``, the facilitator's board at
``/a/<secret>``, their JSON beside them. A wrong secret is 404, another team's event 403, a
malformed request 4xx; nothing a team's page or JSON holds names the cause, a lab or a VM.

>>> from starlette.testclient import TestClient
>>> portal = demo()
>>> with TestClient(portal.app) as client:
...     client.get("/t/nope").status_code, client.get(f"/t/{portal.secrets['a']}").status_code
(404, 200)
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from yarakashi import roster
from yarakashi.portal import markdown, views, words
from yarakashi.portal.backend import Backend, Fake
from yarakashi.portal.bastion import Access
from yarakashi.portal.jobs import Jobs, Refused
from yarakashi.roomstate import Room

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape())
TEMPLATES.globals.update(md=markdown.html, md_inline=markdown.inline)
#: What the facilitator does to one team.
ADMIN_ACTIONS = ("start", "reset", "destroy")
#: Secret addresses must not leak to other sites through the Referer header.
HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass
class Portal:
    """A room's running portal: its ASGI app, state, jobs and the secrets it hands out."""

    app: Starlette
    room: Room
    jobs: Jobs
    roster: roster.Roster
    secrets: dict[str, str]
    admin: str
    access: Access | None = None


def make(r: roster.Roster, room: Room, backend: Backend, at_once: int = 1, access: Access | None = None) -> Portal:
    """The portal of roster ``r`` over the room's state ``room`` (its teams seated); ``access``:
    the SSH door it serves beside the pages, and what the team pages say of it."""
    secrets = room.seat(r)
    admin = room.admin_secret()
    jobs = Jobs(room, backend, r, at_once)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        door = await access.door.serve(access.address, access.port) if access and access.door else None
        yield
        if door:
            door.close()
        jobs.stop()  # the server stops: every job cancelled and cleaned up, its event interrupted

    portal = Portal(Starlette(), room, jobs, r, secrets, admin, access)
    portal.app = Starlette(routes=_routes(portal), lifespan=lifespan,
                           exception_handlers={HTTPException: _http_error, Exception: _server_error})
    return portal


def demo() -> Portal:
    """A portal of two teams over the fake backend, its state in a temporary directory (doctests)."""
    r = roster.parse("[room]\nname = 'dojo'\nlang = 'ja'\n[[teams]]\nname = 'a'\nlab = 'rsync-dirlinks'\n"
                     "[[teams]]\nname = 'b'\nlab = 'memory-engine'\n")
    return make(r, Room(Path(tempfile.mkdtemp()) / "room.db"), Fake())


def _routes(p: Portal) -> list[Route]:
    def team_of(request: Request) -> roster.Team:
        name = p.room.team(request.path_params["secret"])
        if name is None:
            raise HTTPException(404)
        return next(t for t in p.roster.teams if t.name == name)

    def admin_of(request: Request) -> None:
        if not p.room.admin(request.path_params["secret"]):
            raise HTTPException(404)

    async def team_page(request: Request) -> Response:
        team = team_of(request)
        return _html("team.html", {**views.team(p.room, p.jobs, p.roster, team, p.access), "secret": request.path_params["secret"],
                                   "t": _words(p.roster.lang)})

    async def team_state(request: Request) -> Response:
        return JSONResponse(views.team(p.room, p.jobs, p.roster, team_of(request), p.access), headers=HEADERS)

    async def team_key(request: Request) -> Response:
        """The private key made for the team, handed out once (the board has it for a team that lost it)."""
        team = team_of(request)
        if not p.access or team.name not in p.access.made:
            raise HTTPException(404)
        if views.key_taken(p.room.events(team.name)):
            return _refused(p, Refused("key_taken", 410), request)
        p.room.end(p.room.begin(team.name, "key"))
        return _key(p.access.made[team.name])

    async def team_event(request: Request) -> Response:
        team = team_of(request)
        event = p.room.event(_int(request.path_params["event"]))
        if event is None:
            raise HTTPException(404)
        if event.team != team.name:
            raise HTTPException(403)
        return JSONResponse(views.event(p.jobs, p.roster.lang, event), headers=HEADERS)

    async def team_action(request: Request) -> Response:
        team, action = team_of(request), request.path_params["action"]
        if action not in views.TEAM_ACTIONS:
            raise HTTPException(404)
        form = await _form(request)
        if action == "reset" and form.get("confirm") != ["yes"]:
            return _refused(p, Refused("confirm_needed", 400), request)
        try:
            p.jobs.submit(team.name, action)
        except Refused as exc:
            return _refused(p, exc, request)
        return RedirectResponse(f"/t/{request.path_params['secret']}", 303, headers=HEADERS)

    async def admin_page(request: Request) -> Response:
        admin_of(request)
        view = views.board(p.room, p.jobs, p.roster, p.secrets)
        return _html("admin.html", {**view, "secret": request.path_params["secret"], "t": _words("en"), "lang": "en",
                                    "active": any(row["job"] for row in view["teams"])})

    async def admin_state(request: Request) -> Response:
        admin_of(request)
        return JSONResponse(views.board(p.room, p.jobs, p.roster, p.secrets), headers=HEADERS)

    async def admin_action(request: Request) -> Response:
        admin_of(request)
        team, action = request.path_params["team"], request.path_params["action"]
        if team not in p.jobs.teams or action not in ADMIN_ACTIONS:
            raise HTTPException(404)
        try:
            p.jobs.submit(team, action)
        except Refused as exc:
            return PlainTextResponse(words.text(exc.key, "en", **exc.values), exc.status, headers=HEADERS)
        return RedirectResponse(f"/a/{request.path_params['secret']}", 303, headers=HEADERS)

    async def admin_retest(request: Request) -> Response:
        admin_of(request)
        refused = []
        for team in p.jobs.teams:
            try:
                p.jobs.submit(team, "retest")
            except Refused as exc:
                refused.append(f"{team}: {words.text(exc.key, 'en', **exc.values)}")
        if refused:
            return PlainTextResponse("re-test not queued for " + "; ".join(refused), 409, headers=HEADERS)
        return RedirectResponse(f"/a/{request.path_params['secret']}", 303, headers=HEADERS)

    async def admin_team_key(request: Request) -> Response:
        admin_of(request)
        made = p.access.made if p.access else {}
        if request.path_params["team"] not in made:
            raise HTTPException(404)
        return _key(made[request.path_params["team"]])

    async def admin_export(request: Request) -> Response:
        admin_of(request)
        rows = views.results(p.room, p.roster)
        if request.path_params["format"] == "json":
            return JSONResponse({"room": p.roster.name, "teams": rows}, headers=HEADERS)
        if request.path_params["format"] != "csv":
            raise HTTPException(404)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(views.RESULT_FIELDS))
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{p.roster.name}-results.csv"'})

    async def admin_key(request: Request) -> Response:
        admin_of(request)
        lab = next((t.lab for t in p.roster.teams if t.lab.name == request.path_params["lab"]), None)
        if lab is None:
            raise HTTPException(404)
        name = "README.ja.md" if p.roster.lang == "ja" and (lab.path / "README.ja.md").is_file() else "README.md"
        return PlainTextResponse((lab.path / name).read_text(), headers=HEADERS)

    return [
        Route("/t/{secret}", team_page),
        Route("/t/{secret}/state", team_state),
        Route("/t/{secret}/events/{event}", team_event),
        Route("/t/{secret}/key", team_key),
        Route("/t/{secret}/{action}", team_action, methods=["POST"]),
        Route("/a/{secret}", admin_page),
        Route("/a/{secret}/state", admin_state),
        Route("/a/{secret}/retest", admin_retest, methods=["POST"]),
        Route("/a/{secret}/results.{format}", admin_export),
        Route("/a/{secret}/key/{lab}", admin_key),
        Route("/a/{secret}/teams/{team}/key", admin_team_key),
        Route("/a/{secret}/teams/{team}/{action}", admin_action, methods=["POST"]),
    ]


async def _form(request: Request) -> dict[str, list[str]]:
    """A posted form's fields (the pages post a checkbox at most: no multipart parser needed);
    a body too long or not UTF-8 is 4xx."""
    body = await request.body()
    if len(body) > 4096:
        raise HTTPException(413)
    try:
        return urllib.parse.parse_qs(body.decode())
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400) from None


def _key(path: Path) -> Response:
    return PlainTextResponse(path.read_text(), headers={**HEADERS, "Content-Disposition": f'attachment; filename="{path.name}"'})


def _int(text: str) -> int:
    if not text.isdigit():
        raise HTTPException(404)
    return int(text)


def _words(lang: str):  # noqa: ANN202 - a template's t(key, **values)
    return lambda key, **values: words.text(key, lang, **values)


def _html(template: str, values: dict[str, object], status: int = 200) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(template).render(**values), status, headers=HEADERS)


def _refused(p: Portal, exc: Refused, request: Request) -> Response:
    message = words.text(exc.key, p.roster.lang, **exc.values)
    return _html("message.html", {"message": message, "back": f"/t/{request.path_params['secret']}", "lang": p.roster.lang,
                                   "room": p.roster.name}, exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 400)
    return PlainTextResponse(f"{status}", status, headers=HEADERS)


async def _server_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("500: the portal failed; the facilitator's terminal has the details", 500, headers=HEADERS)
