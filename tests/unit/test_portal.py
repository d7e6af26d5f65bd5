"""The room's portal over the fake backend: secrets, a team's flow (hint, check, reset), the
queue, refusals, a restart, the exports, and what a team's page never shows."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from yarakashi import catalogue, roomstate, roster
from yarakashi.portal import bastion, web, words
from yarakashi.portal.backend import Fake

ROSTER = """[room]
name = "dojo"
lang = "ja"
[[teams]]
name = "a"
lab = "deploy-broke-every-command"
[[teams]]
name = "b"
lab = "tuning-froze-the-server"
"""


@pytest.fixture
def room(tmp_path: Path):
    """A portal of two teams (ja) over a fake backend; checks may start 0 s apart."""
    fake = Fake()
    portal = web.make(roster.parse(ROSTER), roomstate.Room(tmp_path / "room.db"), fake)
    portal.jobs.check_gap = 0
    with TestClient(portal.app) as client:
        yield portal, client, fake


def settle(portal: web.Portal) -> None:
    """Every job this portal started has ended."""
    for event in list(portal.jobs.jobs):
        portal.jobs.wait(event, 10)


def start(portal: web.Portal, client: TestClient, team: str) -> None:
    assert client.post(f"/a/{portal.admin}/teams/{team}/start", follow_redirects=False).status_code == 303
    settle(portal)


def never_names_the_cause(text: str, team: str = "a") -> None:
    lab = next(t.lab for t in roster.parse(ROSTER).teams if t.name == team)
    said = words.spoilers_in(text, lab) + [w for w in (lab.name, *lab.platforms, "debian", "yk-") if w in text.lower()]
    assert said == [], f"the team's view names {said}"


def test_a_wrong_secret_is_404_everywhere(room) -> None:
    portal, client, _ = room
    a = portal.secrets["a"]
    assert client.get("/t/nope").status_code == 404
    assert client.get("/t/nope/state").status_code == 404
    assert client.post("/t/nope/check").status_code == 404
    assert client.get(f"/a/{a}").status_code == 404, "a team's secret is not the facilitator's"
    assert client.get(f"/t/{portal.admin}").status_code == 404
    assert client.get(f"/a/{portal.admin}").status_code == 200
    assert client.get(f"/t/{a}").headers["referrer-policy"] == "no-referrer"


def test_a_team_takes_a_hint_checks_fails_resets_fixes_and_passes(room) -> None:
    portal, client, fake = room
    a = portal.secrets["a"]
    page = client.get(f"/t/{a}").text
    assert "サーバはまだ準備中です" in page and 'id="check" class="primary" disabled' in page
    start(portal, client, "a")
    assert 'id="clock"' in client.get(f"/t/{a}").text
    assert client.post(f"/t/{a}/hint", follow_redirects=False).status_code == 303
    settle(portal)
    assert "1/3: hint 1" in client.get(f"/t/{a}").text
    client.post(f"/t/{a}/check")
    settle(portal)
    page = client.get(f"/t/{a}").text
    assert "確認できなかった: サーバ上のどのコマンドも起動する" in page, "the FAIL names what was observed, in Japanese"
    assert "本物の再起動のあと" in page and 'class="FAIL verdict"' in page
    state = client.get(f"/t/{a}/state").json()
    assert state["events"][0]["result"]["verdict"] == "FAIL"
    for text in (page, str(state)):
        never_names_the_cause(text)
    assert client.post(f"/t/{a}/reset", data={}).status_code == 400, "a reset needs its confirmation"
    assert client.post(f"/t/{a}/reset", data={"confirm": "yes"}, follow_redirects=False).status_code == 303
    settle(portal)
    fake.fixed = True
    client.post(f"/t/{a}/check")
    settle(portal)
    assert client.get(f"/t/{a}/state").json()["events"][0]["result"]["verdict"] == "PASS"
    board = client.get(f"/a/{portal.admin}/state").json()["teams"][0]
    assert (board["team"], board["hints"], board["resets"], board["checks"], board["last_check"]) == ("a", 1, 1, 2, "PASS")


def test_when_every_hint_was_given_the_page_says_so(room) -> None:
    portal, client, _ = room
    a = portal.secrets["a"]
    start(portal, client, "a")
    for _ in range(4):
        client.post(f"/t/{a}/hint")
        settle(portal)
    page = client.get(f"/t/{a}").text
    assert page.count('class="hint"') == 3 and "ヒントはこれで全部です" in page and 'id="hint"' not in page


def test_another_teams_event_is_403_and_a_malformed_request_4xx(room) -> None:
    portal, client, _ = room
    a, b = portal.secrets["a"], portal.secrets["b"]
    start(portal, client, "a")
    client.post(f"/t/{a}/hint")
    settle(portal)
    event = client.get(f"/t/{a}/state").json()["events"][0]["id"]
    assert client.get(f"/t/{a}/events/{event}").status_code == 200
    assert client.get(f"/t/{b}/events/{event}").status_code == 403
    assert client.get(f"/t/{b}/events/99999").status_code == 404
    assert client.get(f"/t/{b}/events/x%27").status_code == 404
    assert client.post(f"/t/{a}/destroy").status_code == 404, "a team cannot remove its lab"
    assert client.get(f"/t/{a}/check").status_code == 405
    assert client.post(f"/t/{a}/reset", content=b"\xff\xfe" * 100, headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert client.post(f"/a/{portal.admin}/teams/zz/start").status_code == 404
    assert client.get(f"/a/{portal.admin}/results.xml").status_code == 404


def test_checks_queue_across_the_room_and_a_team_runs_one_job_at_a_time(room) -> None:
    portal, client, fake = room
    a, b = portal.secrets["a"], portal.secrets["b"]
    start(portal, client, "a")
    start(portal, client, "b")
    fake.gate.clear()  # the first check holds the room's one place
    client.post(f"/t/{a}/check")
    client.post(f"/t/{b}/check")
    time.sleep(0.3)
    assert [e["state"] for e in client.get(f"/t/{a}/state").json()["events"][:1]] == ["running"]
    queued = client.get(f"/t/{b}/state").json()["events"][0]
    assert (queued["state"], queued["place"]) == ("queued", 1)
    page = client.get(f"/t/{b}").text
    assert "待ち順 1 番目" in page and 'http-equiv="refresh"' in page, "a waiting team sees its place, and the page follows"
    refused = client.post(f"/t/{a}/hint")
    assert refused.status_code == 409 and "実行中" in refused.text
    fake.gate.set()
    settle(portal)
    assert [e["state"] for e in client.get(f"/t/{b}/state").json()["events"][:1]] == ["done"]


def test_a_check_asked_too_soon_is_429(room) -> None:
    portal, client, _ = room
    a = portal.secrets["a"]
    portal.jobs.check_gap = 60
    start(portal, client, "a")
    client.post(f"/t/{a}/check")
    settle(portal)
    again = client.post(f"/t/{a}/check")
    assert again.status_code == 429 and "60 秒に 1 回" in again.text


def test_a_restarted_portal_keeps_the_room_and_marks_the_running_check_interrupted(tmp_path: Path) -> None:
    fake = Fake()
    r = roster.parse(ROSTER)
    first = web.make(r, roomstate.Room(tmp_path / "room.db"), fake)
    with TestClient(first.app) as client:
        start(first, client, "a")
        fake.gate.clear()
        client.post(f"/t/{first.secrets['a']}/check")
        time.sleep(0.2)
    # The portal stopped (its jobs cancelled); a killed one leaves 'running' rows: the next start marks them.
    second = web.make(r, roomstate.Room(tmp_path / "room.db"), Fake())
    assert second.secrets == first.secrets and second.admin == first.admin
    with TestClient(second.app) as client:
        events = client.get(f"/t/{second.secrets['a']}/state").json()["events"]
        assert [(e["kind"], e["state"]) for e in events] == [("check", "interrupted")]
        assert client.get(f"/t/{second.secrets['a']}/state").json()["started"], "the started lab is found again"


def test_a_killed_portals_running_rows_are_interrupted_on_the_next_start(tmp_path: Path) -> None:
    room = roomstate.Room(tmp_path / "room.db")
    room.seat(roster.parse(ROSTER))
    running, queued = room.begin("a", "check"), room.begin("b", "check", queued=True)
    again = roomstate.Room(tmp_path / "room.db")  # as after SIGKILL: nobody ended them
    assert [(e.id, e.state) for e in again.events()] == [(running, "interrupted"), (queued, "interrupted")]


def test_an_error_is_a_plain_line_for_the_team_and_the_facilitator_reads_it(room) -> None:
    portal, client, fake = room
    a = portal.secrets["a"]
    start(portal, client, "a")

    def broken(team):
        raise RuntimeError("virsh: domain yk-1234-rsync-dirlinks-debian12-merged-t-a not found")

    fake.check = broken
    client.post(f"/t/{a}/check")
    settle(portal)
    page = client.get(f"/t/{a}").text
    assert "完了できませんでした" in page
    never_names_the_cause(page)
    assert "domain yk-1234" in client.get(f"/a/{portal.admin}").text


def test_the_results_export_as_csv_and_json_and_the_retest_runs_for_every_team(room) -> None:
    portal, client, _ = room
    start(portal, client, "a")
    assert client.post(f"/a/{portal.admin}/retest", follow_redirects=False).status_code == 303
    settle(portal)
    rows = client.get(f"/a/{portal.admin}/results.json").json()["teams"]
    assert [(r["team"], r["retest"]) for r in rows] == [("a", "PASS"), ("b", "PASS")]
    csv_text = client.get(f"/a/{portal.admin}/results.csv").text
    assert csv_text.splitlines()[0].startswith("team,lab,started") and "\na,rsync-dirlinks," in csv_text
    assert client.get(f"/a/{portal.admin}/key/rsync-dirlinks").text.startswith("# ")


@pytest.mark.parametrize("lab", sorted(catalogue.labs()))
def test_every_check_a_lab_verifies_has_a_trainee_label_free_of_its_spoilers(lab: str) -> None:
    found = catalogue.lab(lab)
    script = (found.script("verify")).read_text()
    names = re.findall(r'^\s*check "([^"]+)"', script, re.M)
    assert names, "the verify script's checks are found"
    missing = [n for n in names if n not in found.trainee_checks]
    assert missing == [], f"checks without a trainee label in labs/{lab}/lab.toml [trainee_checks]"
    labels = [w for words_ in found.trainee_checks.values() for w in words_] + [w for v in words.COMMON.values() for w in v]
    labels += [w for v in words.TEXT.values() for w in v] + [w for v in words.PHASES.values() for w in v]
    said = [(w, label) for label in labels for w in words.spoilers_in(label, found)]
    assert said == []
    assert all(len(w) == 2 for w in found.trainee_checks.values()), "each label in English and Japanese"


def test_a_team_page_shows_only_the_briefs_situation_goal_and_rules(room) -> None:
    portal, client, _ = room
    page = client.get(f"/t/{portal.secrets['a']}").text
    assert "<h3>状況</h3>" in page and "<h3>ゴール</h3>" in page
    assert "./run" not in page and "手元にあるもの" not in page


def test_the_rooms_state_takes_pages_and_jobs_from_many_threads_at_once(room) -> None:
    """The request loop and every job thread share one SQLite connection: no statement fails
    (a connection bound to the thread that opened it fails every reader here)."""
    import threading

    portal, client, _ = room
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(200):
                portal.room.events()
                portal.room.team(portal.secrets["b"])
        except BaseException as exc:  # noqa: BLE001 - collected for the assert
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(6)]
    for t in readers:
        t.start()
    for _ in range(20):
        for team in ("a", "b"):
            event = portal.jobs.submit(team, "hint")
            portal.jobs.wait(event, 10)
    for t in readers:
        t.join()
    assert errors == []
    assert len([e for e in portal.room.events() if e.kind == "hint" and e.state == "done"]) == 40


def test_a_team_reads_how_to_reach_its_servers_and_takes_its_made_key_once(tmp_path: Path) -> None:
    r = roster.parse(ROSTER.replace('lab = "tuning-froze-the-server"', 'lab = "tuning-froze-the-server"\nkeys = ["ssh-ed25519 AAAAC3Nz b@laptop"]'))
    keys, made = bastion.team_keys(r, tmp_path / "keys")
    assert list(made) == ["a"] and keys["b"] == ["ssh-ed25519 AAAAC3Nz b@laptop"], "b brought its own key"
    assert keys["a"][0].startswith("ssh-ed25519 ") and (made["a"].stat().st_mode & 0o777) == 0o600
    assert bastion.team_keys(r, tmp_path / "keys")[0] == keys, "a reopened room hands out the same key"
    access = bastion.Access(None, "127.0.0.1", 2222, "dojo.example", made)
    portal = web.make(r, roomstate.Room(tmp_path / "room.db"), Fake(), access=access)
    a, b = portal.secrets["a"], portal.secrets["b"]
    with TestClient(portal.app) as client:
        page = client.get(f"/t/{a}").text
        assert "HostName dojo.example" in page and "User isucon" in page and "ssh s1" in page and 'id="key"' in page
        never_names_the_cause(page)
        assert client.get(f"/t/{b}/key").status_code == 404, "b brought its own key: nothing to hand out"
        assert client.get(f"/t/{b}").text.count("IdentityFile") == 0
        got = client.get(f"/t/{a}/key")
        assert got.status_code == 200 and got.text == made["a"].read_text() and "a_ed25519" in got.headers["content-disposition"]
        again = client.get(f"/t/{a}/key")
        assert again.status_code == 410 and "ダウンロード済み" in again.text, "handed out once"
        assert 'id="key"' not in client.get(f"/t/{a}").text
        assert client.get(f"/a/{portal.admin}/teams/a/key").text == made["a"].read_text(), "the facilitator still has it"
        assert client.get(f"/a/{a}/teams/a/key").status_code == 404


def test_a_port_already_taken_is_one_line_before_anything_is_made() -> None:
    import socket

    from yarakashi import YarakashiError
    from yarakashi.portal import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(YarakashiError, match=f"^--ssh-port {port}: cannot listen on 127.0.0.1: Address already in use$"):
            serve.free("127.0.0.1", port, "--ssh-port")
    serve.free("127.0.0.1", port, "--ssh-port")  # free again
