"""A workshop room's roster: read and checked into one line naming the line at fault, and the
room's plan against what this host runs at once."""

from __future__ import annotations

import pytest

from yarakashi import YarakashiError, capacity, roster
from yarakashi.app import room

ROOM = "[room]\nname = 'dojo'\nlang = 'ja'\nstart_timeout = 120\n"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm0aUUzQ2Vn+bT7Zm taro@laptop"


def team(name: str, lab: str, keys: str = "") -> str:
    return f"\n[[teams]]\nname = '{name}'\nlab = '{lab}'\n" + (f"keys = [{keys}]\n" if keys else "")


def test_a_roster_names_its_teams_labs_by_either_name_and_their_keys() -> None:
    r = roster.parse(ROOM + team("narusejun", "db-stops-after-reboot", f"'{KEY}'") + team("b", "rsync-dirlinks"))
    assert (r.name, r.lang, r.start_timeout) == ("dojo", "ja", 120)
    assert [(t.name, t.lab.name, t.keys) for t in r.teams] == [("narusejun", "apparmor-cache", (KEY,)), ("b", "rsync-dirlinks", ())]


@pytest.mark.parametrize(("text", "message"), [
    (ROOM + team("a", "nope"), r"^roster line 6: \[\[teams\]\] 1 \('a'\): unknown lab 'nope'; valid labs: "),
    (ROOM + team("a", "rsync-dirlinks") + team("a", "memory-engine"), r"^roster line 10: \[\[teams\]\] 2 \('a'\): another team has that name$"),
    (ROOM + team("Team A", "rsync-dirlinks"), r"^roster line 6: \[\[teams\]\] 1 \('Team A'\): a team's name is lower-case"),
    (ROOM + team("a", "rsync-dirlinks", "'ssh-ed25519'"), r"^roster line 6: \[\[teams\]\] 1 \('a'\): not an OpenSSH public key line: 'ssh-ed25519'$"),
    (ROOM + team("a", "rsync-dirlinks").replace("lab =", "lap ="), r"^roster line 6: \[\[teams\]\] 1: unknown key 'lap'; valid keys: keys, lab, name$"),
    (ROOM.replace("'ja'", "'fr'") + team("a", "rsync-dirlinks"), r"^unknown language 'fr' in roster line 1: \[room\]; valid languages: en, ja$"),
    (ROOM.replace("120", "'soon'") + team("a", "rsync-dirlinks"), r"^roster line 1: \[room\]: start_timeout must be an integer, not 'soon'"),
    (ROOM, r"^roster: no \[\[teams\]\] table: a room needs a team$"),
    (team("a", "rsync-dirlinks"), r"^roster: no \[room\] table \(name, lang\)$"),
    (ROOM + "[[teams]\n", r"^roster: .*line 5"),
])
def test_a_wrong_roster_is_one_line_naming_where(text: str, message: str) -> None:
    with pytest.raises(YarakashiError, match=message):
        roster.parse(text)


def test_the_plan_counts_every_team_s_servers_against_what_this_host_runs_at_once(tmp_path, monkeypatch) -> None:
    path = tmp_path / "room.toml"
    path.write_text(ROOM + team("a", "db-stops-after-reboot") + team("b", "rsync-dirlinks"))
    monkeypatch.setattr(capacity, "cap", lambda: 2)
    p = room.plan(path)
    assert [(t.team, t.servers) for t in p.teams] == [("a", [("s2", 1536), ("s1", 512)]), ("b", [("s1", 1024)])]
    assert (p.guests, p.memory_mib, p.places, p.fits) == (3, 3072, 2, False)
    monkeypatch.setattr(capacity, "cap", lambda: 3)
    assert room.plan(path).fits


def test_the_room_keeps_its_teams_secrets_and_events_across_a_restart(tmp_path) -> None:
    """Stop the room's server, start it again: the same secrets (the teams' pages keep their
    address), every event kept, a check that was running marked interrupted."""
    from yarakashi.roomstate import Room

    first = Room(tmp_path / "room.db")
    seated = first.seat(roster.parse(ROOM + team("a", "rsync-dirlinks")))
    admin = first.db.execute("SELECT value FROM room").fetchone()[0]
    done = first.begin("a", "hint")
    first.end(done)
    first.begin("a", "check")  # the server dies during the check
    first.db.close()

    again = Room(tmp_path / "room.db")
    assert again.seat(roster.parse(ROOM + team("a", "memory-engine") + team("b", "rsync-dirlinks")))["a"] == seated["a"]
    assert again.team(seated["a"]) == "a" and again.team(seated["a"][:-1]) is None and again.team("") is None
    assert again.admin(admin) and not again.admin(seated["a"])
    assert [(e.kind, e.state) for e in again.events("a")] == [("hint", "done"), ("check", "interrupted")]
    assert again.db.execute("SELECT lab FROM teams WHERE name = 'a'").fetchone() == ("memory-engine",)
    with pytest.raises(ValueError, match="unknown event kind 'nap'"):
        again.begin("a", "nap")
