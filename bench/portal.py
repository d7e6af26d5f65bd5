"""The room's portal under a contest's load, on this machine with real VMs: every team's page
fetched every 2 s while real checks (real reboots) run, and how long those checks take.

    .venv/bin/python bench/portal.py            # as root: 8 teams; 3 started and checked, 2 checks at a time
    .venv/bin/python bench/portal.py 8 2 shots  # the same, and screenshots into docs/img/

It runs ``./run room.open`` as a facilitator would (a roster of rsync-dirlinks teams, Japanese),
starts three teams' servers from the board, breaks the first one as the team would
(``lab.run … break``) and deploys the others right (``lab.run … fix``: their checks reboot for
real), asks a hint, then asks all three checks at once while the pollers run. Prints page
latency p50/p95/max, idle and during the checks, and each check's seconds; removes the VMs and
stops the portal. Not a test: nothing here asserts.
"""

from __future__ import annotations

import json
import os
import platform as pyplatform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB = "deploy-broke-every-command"


def fetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def quantiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return "no samples"
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms ({len(samples)} pages)"


def main(teams: int = 8, checked: int = 2, shots: bool = False) -> None:
    """``teams`` teams, ``checked`` + 1 of them started; checks run ``checked`` at a time."""
    names = [f"t{n}" for n in range(1, teams + 1)]
    roster = Path(tempfile.mkdtemp()) / "bench-room.toml"
    roster.write_text('[room]\nname = "bench"\nlang = "ja"\n' + "".join(f'[[teams]]\nname = "{n}"\nlab = "{LAB}"\n' for n in names))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    portal = subprocess.Popen([str(REPO / "run"), "room.open", str(roster), "--port", str(port), "--checks", str(checked)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert portal.stdout
    urls: dict[str, str] = {}
    while len(urls) < teams + 1:
        line = portal.stdout.readline()
        if not line:
            raise SystemExit("room.open ended before printing its addresses")
        if m := re.match(r"(?:team (\S+)|facilitator's board): (\S+)", line):
            urls[m[1] or "board"] = m[2]
    board = urls["board"]
    deadline = time.monotonic() + 60
    while True:  # the addresses are printed just before the server listens
        try:
            fetch(board)
            break
        except urllib.error.URLError:
            assert time.monotonic() < deadline, "the portal does not answer"
            time.sleep(0.5)
    samples: list[tuple[float, float]] = []  # (when, seconds)
    stop = threading.Event()

    def poll(url: str) -> None:
        while not stop.is_set():
            began = time.monotonic()
            fetch(url)
            samples.append((began, time.monotonic() - began))
            stop.wait(max(0.0, 2 - (time.monotonic() - began)))

    def board_state() -> dict:
        return json.loads(fetch(board + "/state")[1])

    def wait_done(team: str, kind: str) -> float:
        began = time.monotonic()
        while True:
            row = next(r for r in board_state()["teams"] if r["team"] == team)
            if row["job"] is None and row["last"] and row["last"]["kind"] == kind:
                return time.monotonic() - began
            time.sleep(2)

    started = names[:checked + 1]  # one more than run at once: one check waits in the queue
    try:
        t0 = time.monotonic()
        for team in started:
            fetch(f"{board}/teams/{team}/start", b"")
        for team in started:
            wait_done(team, "start")
        print(f"start of {len(started)} teams at once: {time.monotonic() - t0:.0f} s; "
              + ", ".join(f"{r['team']}: {r['last']}" for r in board_state()["teams"] if r["team"] in started), flush=True)
        # The first team breaks its server as the team did; the others deploy right, so that their
        # checks reboot for real (the load the pages are measured under).
        for n, team in enumerate(started):
            step = "break" if n == 0 else "fix"
            done = subprocess.run([str(REPO / "run"), "lab.run", LAB, step, "--trainee", team], capture_output=True, text=True)
            print(f"lab.run {step} on {team}: exit {done.returncode}", flush=True)
        fetch(urls[started[0]] + "/hint", b"")
        wait_done(started[0], "hint")
        pollers = [threading.Thread(target=poll, args=(urls[n],), daemon=True) for n in names]
        for p in pollers:
            p.start()
        time.sleep(30)
        idle_end = time.monotonic()
        for team in started:
            assert fetch(urls[team] + "/check", b"")[0] in (200, 303)
        for team in started:
            wait_done(team, "check")
        checks_end = time.monotonic()
        stop.set()
        idle = [s for t, s in samples if t < idle_end]
        busy = [s for t, s in samples if idle_end <= t < checks_end]
        print(f"checks of {len(started)} teams asked at once, {checked} at a time: {checks_end - idle_end:.0f} s until the last ended")
        rows = {r["team"]: r for r in board_state()["teams"]}
        print(f"machine: {pyplatform.machine()}, {os.cpu_count()} cores, Python {pyplatform.python_version()}")
        print(f"pages of {teams} teams every 2 s, idle: {quantiles(idle)}")
        print(f"the same while {checked} checks run: {quantiles(busy)}")
        for team in started:
            e = json.loads(fetch(urls[team] + "/state")[1])["events"][0]
            print(f"check of {team}: {rows[team]['last_check']}, waited {e['ran'] - e['asked']:.0f} s in the queue, ran {e['ended'] - e['ran']:.0f} s")
        if shots:
            screenshots(urls[started[0]], board)
    finally:
        stop.set()
        for team in started:
            fetch(f"{board}/teams/{team}/destroy", b"")
        for team in started:
            wait_done(team, "destroy")
        os.killpg(portal.pid, signal.SIGINT)
        portal.wait(120)


def screenshots(team: str, board: str) -> None:
    """The team's page (its failed check) and the board, for the README."""
    sys.path.insert(0, str(REPO))
    from tests.browser import chromium

    driver = chromium("1100,1300")
    try:
        for url, name in ((team, "portal-team.png"), (board, "portal-board.png")):
            driver.get(url)
            time.sleep(1.5)
            driver.save_screenshot(str(REPO / "docs" / "img" / name))
    finally:
        driver.quit()


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 8, int(args[1]) if len(args) > 1 else 2, "shots" in args)
