"""A workshop room's roster: the room (name, language, the start-timeout option) and its teams
(a name, the lab each runs, optionally their SSH public keys), read from a TOML file. A wrong
roster is one line naming the file, the line of the table at fault and what was expected.

    [room]
    name = "isucon-dojo-2026-12"
    lang = "ja"              # en or ja: the briefs, hints and verdicts the teams read
    start_timeout = 120      # optional: lab.start --start-timeout for every team

    [[teams]]
    name = "narusejun"       # lower-case letters and digits, at most 16
    lab = "db-stops-after-reboot"   # a lab, by its trainees' name or its own
    keys = ["ssh-ed25519 AAAAC3Nza... taro@laptop"]   # optional

>>> r = parse("[room]\\nname = 'dojo'\\nlang = 'ja'\\n[[teams]]\\nname = 'a'\\nlab = 'db-stops-after-reboot'\\n")
>>> r.name, r.lang, [(t.name, t.lab.name) for t in r.teams]
('dojo', 'ja', [('a', 'apparmor-cache')])
>>> parse("[room]\\nname = 'dojo'\\nlang = 'ja'\\n[[teams]]\\nname = 'a'\\nlab = 'nope'\\n")  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
yarakashi.YarakashiError: roster line 4: [[teams]] 1 ('a'): unknown lab 'nope'; valid labs: ...
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from yarakashi import YarakashiError, catalogue, model, schema, workshop

#: A team's name: it names the team's VMs (``t-NAME``, a trainee's instance), so short and plain.
TEAM_NAME = workshop.TRAINEE
#: An OpenSSH public key line: its type, its base64 body, an optional comment.
PUBLIC_KEY = re.compile(r"(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
                        r" [A-Za-z0-9+/]+={0,3}( \S.*)?")
LANGS = workshop.LANGUAGES


@dataclass(frozen=True)
class RoomTable:
    """``[room]`` as written."""

    name: str
    lang: str = "en"
    start_timeout: int = 0


@dataclass(frozen=True)
class TeamTable:
    """One ``[[teams]]`` table as written."""

    name: str
    lab: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Team:
    """A team of the room: its name, its lab, its SSH public keys (none: a key pair is made for it)."""

    name: str
    lab: model.Lab
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roster:
    """A room and its teams."""

    name: str
    lang: str
    start_timeout: int
    teams: tuple[Team, ...] = field(default_factory=tuple)


def load(path: Path) -> Roster:
    """The roster in ``path``; a missing or wrong file is one line naming it."""
    if not path.is_file():
        raise YarakashiError(f"roster not found: {path}")
    return parse(path.read_text(), str(path))


def parse(text: str, where: str = "roster") -> Roster:
    """The roster ``text`` holds (``where`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise YarakashiError(f"{where}: {exc}") from None
    schema.known_keys(data, ("room", "teams"), where)
    if "room" not in data:
        raise YarakashiError(f"{where}: no [room] table (name, lang)")
    at = f"{where} line {_line(text, '[room]')}: [room]"
    room = RoomTable(**schema.typed_table(RoomTable, schema.typed(data["room"], dict, "room", where), at, given=()))
    model.choose("language", room.lang, list(LANGS), f"in {at}")
    if room.start_timeout < 0:
        raise YarakashiError(f"{at}: start_timeout must be seconds (0: the unit's own), not {room.start_timeout}")
    tables = schema.typed(data.get("teams", []), list, "teams", where)
    if not tables:
        raise YarakashiError(f"{where}: no [[teams]] table: a room needs a team")
    teams: list[Team] = []
    for n, table in enumerate(tables, 1):
        at = f"{where} line {_line(text, '[[teams]]', n)}: [[teams]] {n}"
        t = TeamTable(**schema.typed_table(TeamTable, schema.typed(table, dict, f"teams[{n}]", where), at, given=()))
        at += f" ({t.name!r})"
        if not TEAM_NAME.fullmatch(t.name):
            raise YarakashiError(f"{at}: a team's name is lower-case letters and digits, at most 16")
        if any(other.name == t.name for other in teams):
            raise YarakashiError(f"{at}: another team has that name")
        bad = [k for k in t.keys if not PUBLIC_KEY.fullmatch(k.strip())]
        if bad:
            raise YarakashiError(f"{at}: not an OpenSSH public key line: {bad[0][:40]!r}")
        try:
            lab = catalogue.lab(t.lab)
        except model.UnknownName as exc:
            raise YarakashiError(f"{at}: {exc}") from None
        teams.append(Team(t.name, lab, tuple(k.strip() for k in t.keys)))
    return Roster(room.name, room.lang, room.start_timeout, tuple(teams))


def _line(text: str, header: str, nth: int = 1) -> int:
    """The line of the ``nth`` table headed ``header`` (0 when it is not written as a header).

    >>> _line("[room]\\nname = 'x'\\n[[teams]]\\n\\n [[teams]]\\n", "[[teams]]", 2)
    5
    """
    found = [n for n, line in enumerate(text.splitlines(), 1) if line.strip().split("#")[0].strip() == header]
    return found[nth - 1] if len(found) >= nth else 0
