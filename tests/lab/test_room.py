"""A workshop room on real VMs, as a contest runs: ``room.open`` in a network namespace of its
own, each team's member and the facilitator in theirs, linked by veth pairs to a bridge in the
portal's (no test address in the host's main namespace). Team A's member uses Debian's chromium
(selenium, :mod:`tests.lab.room_browser`) and OpenSSH through the room's door with the key the
page handed out; team B brought its own key.

Team A: the page, the key, a login as ``isucon@s1`` (sudo, nothing of the lab in sight: the walk
of :mod:`tests.lab.spoilers`), the team's ``make deploy`` (the post's lines), a hint, a check
(FAIL, in Japanese), a reset, the Makefile fixed over SSH, a check (PASS), the board. Team B:
its key reaches none of A's servers, nor logs in as A; its secret reads none of A's events.
Then the portal is killed (SIGKILL) during A's check and opened again: the room is as it was, the
check marked interrupted, and the board's destroy leaves no VM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from yarakashi import catalogue, paths, providers
from yarakashi.progress import say

from . import spoilers
from .conftest import CREATED

#: For the lane scheduler (yarakashi.lanes): one VM, a start, three checks (two real reboots).
TEST_MINUTES = 5  # 204 s alone on this machine (bench/results.md)
LAB, PLATFORM = "rsync-dirlinks", "debian12-merged"
LIBVIRT = providers.get("libvirt")
#: The room's network, inside the test's namespaces only: the portal's bridge and each client.
PORTAL_IP, CLIENTS = "10.251.0.1", {"a": "10.251.0.2", "b": "10.251.0.3", "f": "10.251.0.4"}
SHOTS = paths.WORK / "reports"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=120)


@contextmanager
def namespaces(tag: str) -> Iterator[dict[str, str]]:
    """Namespaces ``portal`` (a bridge with PORTAL_IP), and ``a``, ``b``, ``f`` (a veth each into
    the bridge); every end is made inside its namespace, and all goes with the namespaces."""
    names = {role: f"ykt{tag}{role}" for role in ("p", *CLIENTS)}
    try:
        for name in names.values():
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        p = names["p"]
        sh("ip", "-n", p, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", p, "addr", "add", f"{PORTAL_IP}/24", "dev", "br0")
        sh("ip", "-n", p, "link", "set", "br0", "up")
        for role, address in CLIENTS.items():
            sh("ip", "link", "add", "name", f"yk{role}", "netns", p, "type", "veth", "peer", "name", "eth0", "netns", names[role])
            sh("ip", "-n", p, "link", "set", f"yk{role}", "master", "br0", "up")
            sh("ip", "-n", names[role], "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", names[role], "link", "set", "eth0", "up")
        yield names
    finally:
        for name in names.values():
            sh("ip", "netns", "del", name, check=False)


def http(ns: str, url: str, post: bool = False) -> tuple[int, str]:
    """A GET (or an empty POST) from inside ``ns``: its status and body."""
    code = ("import sys, urllib.request as r, urllib.error as e\n"
            "req = r.Request(sys.argv[1], data=b'' if sys.argv[2] == 'post' else None)\n"
            "try:\n  resp = r.urlopen(req, timeout=60); print(resp.status); print(resp.read().decode())\n"
            "except e.HTTPError as x:\n  print(x.code); print(x.read().decode())\n")
    done = sh("ip", "netns", "exec", ns, sys.executable, "-c", code, url, "post" if post else "get")
    status, _, body = done.stdout.partition("\n")
    return int(status), body


def browse(ns: str, *steps: list) -> str:
    """Steps in a real browser inside ``ns`` (tests.lab.room_browser); the page's text after them."""
    done = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "tests.lab.room_browser", json.dumps(steps)],
                          cwd=paths.REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


class Member:
    """A team member's OpenSSH client inside ``ns``, with the page's ``~/.ssh/config`` lines."""

    def __init__(self, ns: str, home: Path, config: str, key: Path):
        self.ns, self.config = ns, home / "ssh_config"
        home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(re.sub(r"IdentityFile \S+", f"IdentityFile {key}", config) + "\n"
                               f"Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  BatchMode yes\n  ConnectTimeout 60\n"
                               f"  StrictHostKeyChecking accept-new\n  UserKnownHostsFile {home / 'known_hosts'}\n")

    def ssh(self, command: str, host: str = "s1", *options: str) -> subprocess.CompletedProcess[str]:
        say(f"team member ({self.ns}), ssh {host}: {command.strip().splitlines()[0][:120]}")
        done = subprocess.run(["ip", "netns", "exec", self.ns, "ssh", "-F", str(self.config), *options, host, command],
                              capture_output=True, text=True, timeout=600)
        for line in (done.stdout + done.stderr).splitlines()[-20:]:
            sys.stdout.write(f"    | {line}\n")
        return done


class Portal:
    """``room.open`` inside the portal's namespace, as a facilitator runs it; its printed addresses."""

    def __init__(self, ns: str, client: str, roster: Path, env: dict[str, str], log: Path):
        self.ns, self.client, self.roster, self.env, self.log = ns, client, roster, env, log
        self.proc: subprocess.Popen | None = None
        self.urls: dict[str, str] = {}

    def open(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-m", "invoke", "room.open", str(self.roster),
                                          "--address", "0.0.0.0", "--ssh-host", PORTAL_IP], cwd=paths.REPO,
                                         env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            text = self.log.read_text()[offset:]
            self.urls = {m[1] or "facilitator": m[2] for m in re.finditer(r"^(?:team (\w+)|facilitator's board): (http\S+)$", text, re.M)}
            if "Ctrl-C" in text and self._answers():
                return
            assert self.proc.poll() is None, f"room.open ended: {text[-2000:]}"
            assert time.monotonic() < deadline, f"the portal did not answer: {text[-2000:]}"
            time.sleep(1)

    def _answers(self) -> bool:
        try:
            return http(self.client, self.url("facilitator"))[0] == 200
        except (subprocess.SubprocessError, KeyError, ValueError):
            return False

    def url(self, who: str, on: str = PORTAL_IP) -> str:
        return self.urls[who].replace("0.0.0.0", on)

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(120)


@pytest.fixture
def room(tmp_path: Path) -> Iterator[tuple[dict[str, str], Portal, Path]]:
    """The namespaces, team B's own key pair, the roster (ja), and the portal opened."""
    checkout = f"{paths.CHECKOUT_ID[:4]}r{zlib.crc32(b'room') % 10000}"
    env = {"YARAKASHI_CHECKOUT_ID": checkout, "YARAKASHI_WORK": str(tmp_path / "work"), "LANG": "C.UTF-8"}
    CREATED.add(f"{providers.GUEST_PREFIX}{checkout}-{LAB}-{PLATFORM}-t-a-default")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "b@laptop", "-f", str(tmp_path / "b_key"))
    roster = tmp_path / "room.toml"
    roster.write_text(f'[room]\nname = "dojo"\nlang = "ja"\n[[teams]]\nname = "a"\nlab = "{catalogue.lab(LAB).trainee_name}"\n'
                      f'[[teams]]\nname = "b"\nlab = "{catalogue.lab(LAB).trainee_name}"\n'
                      f'keys = ["{(tmp_path / "b_key.pub").read_text().strip()}"]\n')
    with namespaces(str(zlib.crc32(checkout.encode()) % 1000)) as ns:
        portal = Portal(ns["p"], ns["f"], roster, env, tmp_path / "room.log")
        try:
            portal.open()
            yield ns, portal, tmp_path
        finally:
            portal.stop()
            if portal.proc is None or portal.proc.poll() is None:
                portal.stop(signal.SIGKILL)
            subprocess.run([sys.executable, "-m", "invoke", "lab.destroy", LAB, "--trainee", "a"], cwd=paths.REPO,
                           env={**os.environ, **env}, capture_output=True, timeout=600)
            LIBVIRT.sweep(f"{providers.GUEST_PREFIX}{checkout}-")
            for line in portal.log.read_text().splitlines()[-40:]:
                sys.stdout.write(f"    portal | {line}\n")


def board_row(ns: dict[str, str], portal: Portal, team: str) -> dict:
    status, body = http(ns["f"], portal.url("facilitator") + "/state")
    assert status == 200, body
    return next(row for row in json.loads(body)["teams"] if row["team"] == team)


def wait_idle(ns: dict[str, str], portal: Portal, team: str, kind: str, timeout: float = 900) -> dict:
    """The team's board row once its last ``kind`` job has ended."""
    deadline = time.monotonic() + timeout
    while True:
        row = board_row(ns, portal, team)
        if not row["job"] and row["last"] and row["last"]["kind"] == kind:
            return row
        assert time.monotonic() < deadline, f"{kind} of {team} did not end: {row}"
        time.sleep(5)


def test_two_teams_in_a_room_over_ssh_and_the_browser(room) -> None:
    ns, portal, tmp = room
    lab = catalogue.lab(LAB)
    a_page, b_page, board = portal.url("a"), portal.url("b"), portal.url("facilitator")
    assert http(ns["f"], f"{board}/teams/a/start", post=True)[0] == 200  # the redirect to the board, followed
    row = wait_idle(ns, portal, "a", "start")
    assert row["last"]["state"] == "done" and row["last"]["verdict"] != "ERROR", row

    # Team A: its page, the key handed out once, the lines for ~/.ssh/config.
    text = browse(ns["a"], ["get", a_page], ["until", "Host bastion", 30], ["shot", str(SHOTS / "room-team-ssh.png")])
    assert "あなたのサーバ" in text and "ssh s1" in text
    state = json.loads(http(ns["a"], f"{a_page}/state")[1])
    key = tmp / "a_ed25519"
    status, body = http(ns["a"], f"{a_page}/key")
    assert status == 200 and body.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    key.write_text(body)
    key.chmod(0o600)
    assert http(ns["a"], f"{a_page}/key")[0] == 410, "the key is handed out once"
    a = Member(ns["a"], tmp / "a", state["ssh"]["config"], key)

    # Logged in as the contest's user on s1, sudo without a password; nothing of the lab in sight.
    who = a.ssh("hostname; id -un; sudo -n true && echo sudo; ls ~")
    assert who.returncode == 0 and who.stdout.split() == ["s1", "isucon", "sudo", "isucon10-final"], who.stderr
    walk = a.ssh(spoilers.command(lab))
    assert walk.returncode == 0, walk.stderr
    assert spoilers.found(walk.stdout, lab) == [], walk.stdout

    # Team B's key: none of A's servers through the door, no login as A; B's secret reads none of A's events.
    b = Member(ns["b"], tmp / "b", json.loads(http(ns["b"], f"{b_page}/state")[1])["ssh"]["config"], tmp / "b_key")
    refused = b.ssh("hostname")
    assert refused.returncode == 255 and "not one of your servers" in refused.stderr + refused.stdout
    as_a = subprocess.run(["ip", "netns", "exec", ns["b"], "ssh", "-F", str(b.config), "-o", "User=a", "-W", "s1:22", "bastion"],
                          capture_output=True, text=True, timeout=120)
    assert as_a.returncode == 255 and "Permission denied" in as_a.stderr, as_a.stderr

    # The team's deploy, typed as the team did: make stops with the post's lines.
    deploy = a.ssh("cd isucon10-final && make deploy")
    lines = (deploy.stdout + deploy.stderr).splitlines()
    assert deploy.returncode == 2 and "lib/" in lines and any(line.endswith("Error 127") for line in lines), lines

    text = browse(ns["a"], ["get", a_page], ["click", "#hint"], ["until", "1/4", 120], ["click", "#check"],
                  ["until", 'class="FAIL verdict"', 600], ["shot", str(SHOTS / "room-team-fail.png")])
    assert "確認できなかった: 新しい SSH ログインができる" in text, text
    failed = json.loads(http(ns["a"], f"{a_page}/state")[1])["events"][0]
    assert http(ns["b"], f"{b_page}/events/{failed['id']}")[0] == 403, "team B reads none of A's events"
    assert http(ns["b"], a_page.rsplit("/", 1)[0] + "/" + "0" * 32)[0] == 404  # a secret may start with "-"

    browse(ns["a"], ["get", a_page], ["tick", "#reset-confirm"], ["click", "#reset"], ["until", 'data-kind="reset" data-state="done"', 600])
    fixed = a.ssh("cd isucon10-final && sed -i 's/rsync -v -r/rsync --keep-dirlinks -v -r/' Makefile && make deploy")
    assert fixed.returncode == 0 and "lib/" not in fixed.stdout.splitlines(), fixed.stdout
    time.sleep(max(0, failed["asked"] + 61 - time.time()))  # one check a minute
    text = browse(ns["a"], ["get", a_page], ["click", "#check"], ["until", 'class="PASS verdict"', 900],
                  ["shot", str(SHOTS / "room-team-pass.png")])
    assert "本物の再起動のあと" in text
    text = browse(ns["f"], ["get", board], ["until", "PASS", 30], ["shot", str(SHOTS / "room-board.png")])
    row = board_row(ns, portal, "a")
    assert (row["last_check"], row["hints"], row["resets"], row["checks"]) == ("PASS", 1, 1, 2), row

    # The portal killed during a check, then opened again: the room as it was, the check interrupted.
    passed = json.loads(http(ns["a"], f"{a_page}/state")[1])["events"][0]
    time.sleep(max(0, passed["asked"] + 61 - time.time()))
    assert http(ns["a"], f"{a_page}/check", post=True)[0] == 200
    deadline = time.monotonic() + 120
    while (job := board_row(ns, portal, "a")["job"]) is None or job["state"] != "running":
        assert time.monotonic() < deadline, "the third check never ran"
        time.sleep(1)
    time.sleep(5)  # into its verify or its reboot
    portal.stop(signal.SIGKILL)
    portal.open()
    assert portal.url("a") == a_page, "the same secrets after a restart"
    events = json.loads(http(ns["a"], f"{a_page}/state")[1])["events"]
    assert [e["state"] for e in events[:3]] == ["interrupted", "done", "done"] and events[1]["verdict"] == "PASS", events
    row = board_row(ns, portal, "a")
    assert (row["hints"], row["resets"], row["checks"]) == (1, 1, 2), row
    assert http(ns["f"], f"{board}/teams/a/destroy", post=True)[0] == 200
    wait_idle(ns, portal, "a", "destroy", 300)
    assert not [d for d in LIBVIRT.vms(providers.GUEST_PREFIX) if d in CREATED and "-t-a-" in d], "a VM outlived the room"
