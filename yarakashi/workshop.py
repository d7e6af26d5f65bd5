"""Workshop mode: a trainee's VM at the team's moment, a clock, hints, and a reset in seconds.

``lab.start NAME`` makes the lab's VMs anew (apparmor-cache: s2, and s1 with the team's app),
runs the lab's ``start`` steps (lab.toml; for apparmor-cache: prepare, break, the app on s1, a
real reboot of both), saves each one's running state, prints the trainee
brief and starts the clock from ``minutes``. ``lab.reset`` resumes the saved state: the
trainee's changes are gone, the clock and the hints used stay. ``lab.hint`` prints the next
hint and counts it; ``lab.status`` shows the time and the hints. Trainee-facing lines are in
Japanese under a Japanese locale or with ``--lang ja``.

>>> language(None, {"LANG": "ja_JP.UTF-8"}), language(None, {"LANG": "C.UTF-8"}), language("en", {"LC_ALL": "ja_JP"})
('ja', 'en', 'en')
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from yarakashi import YarakashiError, model
from yarakashi.machine import Machine, reboot_together

#: The saved state a trainee's lab starts from and is reset to.
START = "start"
LANGUAGES = ("en", "ja")

#: Trainee-facing lines: key -> (English, Japanese).
LINES = {
    "clock": ("The clock runs: {minutes} minutes from {at}. Hints: ./run lab.hint {cmd}. Start again: ./run lab.reset {cmd}.",
              "時間を計り始めました: {at} から {minutes} 分。ヒント: ./run lab.hint {cmd}。やり直し: ./run lab.reset {cmd}。"),
    "reset": ("Back at the start of {lab} after {seconds:.0f} s: your changes are gone; {elapsed} of {minutes} minutes used, {hints} hints.",
              "{lab} の開始時点に戻りました（{seconds:.0f} 秒）。あなたの変更は消えています。{minutes} 分のうち {elapsed} 分経過、ヒント {hints} 個使用。"),
    "hint": ("Hint {n} of {total} for {lab}:", "{lab} のヒント {n}/{total}:"),
    "no_more": ("No more hints for {lab}: all {total} are above. The answer key is the lab's README.md.",
                "{lab} のヒントはこれで全部です（{total} 個）。解答はラボの README.ja.md です。"),
    "status": ("{elapsed} of {minutes} min, {hints} of {total} hints, {resets} resets",
               "{minutes} 分中 {elapsed} 分、ヒント {total} 個中 {hints} 個、リセット {resets} 回"),
    "shortened": ("WORKSHOP: {unit} waits {seconds} s to start, not its real {real} (a drop-in of lab.start --start-timeout)",
                  "ワークショップ設定: {unit} の起動待ちは本来の {real} ではなく {seconds} 秒（lab.start --start-timeout のドロップイン）"),
}

#: A trainee's name (``--trainee``): their lab VMs are the instance ``t-<name>``.
TRAINEE = re.compile(r"[a-z0-9]{1,16}")
TRAINEE_PREFIX = "t-"

#: The login a team has on its servers, as in the contest: sudo without a password, its keys.
LOGIN = "isucon"

#: What makes a lab VM a team's server (root, in the guest): its name as the team knew it in the
#: host name and the prompt, the contest's login with the team's keys, the lab's marker root-only.
TEAM_SERVER = """set -e
hostnamectl set-hostname {name}
sed -i '/^127\\.0\\.1\\.1[[:space:]]/d' /etc/hosts && printf '127.0.1.1 %s\\n' {name} >> /etc/hosts
id {login} > /dev/null 2>&1 || useradd --create-home --shell /bin/bash {login}
printf '%s ALL=(ALL) NOPASSWD:ALL\\n' {login} > /etc/sudoers.d/{login} && chmod 0440 /etc/sudoers.d/{login}
install -d -m 0700 -o {login} -g {login} /home/{login}/.ssh
printf '%s' {keys} > /home/{login}/.ssh/authorized_keys
chown {login}: /home/{login}/.ssh/authorized_keys && chmod 0600 /home/{login}/.ssh/authorized_keys
chmod 0600 /etc/yarakashi-guest
"""

#: The drop-in that shortens a unit's start timeout; verify scripts count it as the lab's own.
DROP_IN = "/etc/systemd/system/{unit}.d/yarakashi-workshop.conf"


def language(wanted: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """``wanted`` if given, else ``ja`` under a Japanese locale (LC_ALL, LC_MESSAGES, LANG), else ``en``."""
    if wanted:
        return model.choose("language", wanted, list(LANGUAGES))
    locale = env.get("LC_ALL") or env.get("LC_MESSAGES") or env.get("LANG") or ""
    return "ja" if locale.startswith("ja") else "en"


def instance(trainee: str | None) -> str:
    """The instance of a trainee's lab VMs (``main`` without one): trainees on one host are kept apart.

    >>> instance(None), instance("alice")
    ('main', 't-alice')
    """
    if not trainee:
        return "main"
    if not TRAINEE.fullmatch(trainee):
        raise YarakashiError(f"--trainee must be 1 to 16 lower-case letters or digits, not {trainee!r}")
    return TRAINEE_PREFIX + trainee


def trainee(m: Machine) -> str:
    """The trainee whose lab ``m`` is ('' for the default one)."""
    return trainee_of(m.instance)


def trainee_of(instance: str) -> str:
    """The trainee an instance is for, :func:`instance` read back ('' for none).

    >>> trainee_of(instance("alice")), trainee_of("main")
    ('alice', '')
    """
    return instance.removeprefix(TRAINEE_PREFIX) if instance.startswith(TRAINEE_PREFIX) else ""


def called(m: Machine) -> str:
    """How a trainee names this lab in a command: ``db-stops-after-reboot --trainee alice``."""
    who = trainee(m)
    return m.lab.trainee_name + (f" --trainee {who}" if who else "")


def line(key: str, lang: str, **values: object) -> str:
    """A trainee-facing line in ``lang``."""
    return LINES[key][LANGUAGES.index(lang)].format(**values)


@dataclass
class Session:
    """A trainee's run of a lab, kept next to its VM (``workshop.json``)."""

    lab: str
    started: float
    minutes: int
    hints: int = 0
    resets: int = 0
    #: Seconds of the workshop's start timeout for the lab's unit (0: the real one), and the real one.
    start_timeout: int = 0
    real_timeout: str = ""

    def note(self, unit: str, lang: str) -> str:
        """The line every output carries while a shortened start timeout is in force ('' if none)."""
        if not self.start_timeout:
            return ""
        return line("shortened", lang, unit=unit, seconds=self.start_timeout, real=self.real_timeout) + "\n"

    def elapsed(self) -> int:
        """Whole minutes since the start."""
        return int((time.time() - self.started) // 60)


def _file(m: Machine) -> Path:
    return m.workdir / "workshop.json"


def session(m: Machine) -> Session | None:
    """The workshop session of ``m``, if ``lab.start`` made it."""
    return Session(**json.loads(_file(m).read_text())) if _file(m).is_file() and m.exists() else None


def _save(m: Machine, s: Session) -> None:
    _file(m).write_text(json.dumps(asdict(s)))


def brief(lab: model.Lab, lang: str) -> str:
    """The lab's trainee brief in ``lang`` (English when there is none in it)."""
    for name in ("brief.ja.md", "brief.md") if lang == "ja" else ("brief.md",):
        if (lab.path / name).is_file():
            return (lab.path / name).read_text()
    raise YarakashiError(f"lab {lab.name} has no trainee brief (labs/{lab.name}/brief.md)")


def start(m: Machine, lang: str, start_timeout: int = 0, keys: Sequence[str] = ()) -> str:
    """Make ``m`` and the lab's other machines anew, run the lab's start steps (``app@s1`` on s1;
    ``reboot``: every machine at once), make them the team's servers (:func:`team_servers`,
    ``keys``: the team's SSH public keys), save each one's state; the brief and the clock line.

    ``start_timeout`` (seconds) shortens the start timeout of the lab's ``start_timeout_unit``
    with a drop-in, written before the first reboot of the start steps.
    """
    unit = m.lab.start_timeout_unit
    if start_timeout and not unit:
        raise YarakashiError(f"lab {m.lab.name} has no start timeout to shorten (start_timeout_unit in lab.toml)")
    text = brief(m.lab, lang)
    m.destroy()
    m.up()
    every = [m, *m.up_others()]  # apparmor-cache: s2, and s1 with the team's app
    s = Session(m.lab.name, 0, m.lab.minutes, start_timeout=start_timeout)
    for ref in m.lab.start:
        step, on = model.step_on(ref)
        if step == "reboot" and start_timeout and not s.real_timeout:
            s.real_timeout = _shorten(m, unit, start_timeout)
        if step == "reboot":  # every server at once, as the contest's portal rebooted them
            reboot_together(every)
        else:
            next(one for one in every if one.vm == (on or "default")).steps.run(step)
    if start_timeout and not s.real_timeout:
        s.real_timeout = _shorten(m, unit, start_timeout)
    team_servers(every, keys)
    for one in every:
        one.states.save(START)
    s.started = time.time()
    _save(m, s)
    at = time.strftime("%H:%M", time.localtime(s.started))
    return f"{text}\n{s.note(unit, lang)}{line('clock', lang, minutes=s.minutes, at=at, cmd=called(m))}"


def team_servers(every: list[Machine], keys: Sequence[str] = ()) -> None:
    """Make a lab's VMs the team's servers (:data:`TEAM_SERVER`): each named as the team knew it
    (``s1``, ``s2``), the ``isucon`` login with sudo and ``keys`` on each."""
    authorized = "".join(f"{k.strip()}\n" for k in keys)
    for one in every:
        script = TEAM_SERVER.format(name=shlex.quote(one.server_name), login=LOGIN, keys=shlex.quote(authorized))
        done = one.guest.ssh(f"sudo -n sh -c {shlex.quote(script)}", timeout=60)
        if done.returncode != 0:
            raise YarakashiError(f"could not make {one.domain} the team's {one.server_name}: {done.stderr.strip()[-300:]}")


def _shorten(m: Machine, unit: str, seconds: int) -> str:
    """Write the workshop's drop-in for ``unit``; the start timeout it had (``15min``)."""
    real = m.guest.ssh(f"systemctl show -p TimeoutStartUSec --value {unit}", timeout=60).stdout.strip() or "?"
    path = DROP_IN.format(unit=unit)
    done = m.guest.ssh(f"sudo -n sh -c 'mkdir -p {posixpath.dirname(path)} && printf \"[Service]\\nTimeoutStartSec=%d\\n\" {seconds} > {path}"
                 f" && systemctl daemon-reload'", timeout=120)
    if done.returncode != 0:
        raise YarakashiError(f"could not shorten the start timeout of {unit} on {m.domain}: {done.stderr.strip()}")
    return real


def reset(m: Machine, lang: str) -> str:
    """Resume the saved start state of ``m`` and its other machines (a trainee's changes go;
    clock and hints stay)."""
    s = _session_of(m)
    began = time.monotonic()
    for one in [m, *(o for o in m.others() if o.states.get(START))]:
        one.states.return_to(START)
    s.resets += 1
    _save(m, s)
    return s.note(m.lab.start_timeout_unit, lang) + line(
        "reset", lang, lab=m.lab.trainee_name, seconds=time.monotonic() - began, elapsed=s.elapsed(), minutes=s.minutes, hints=s.hints)


def hint(m: Machine, lang: str) -> str:
    """The next hint of the lab (counted), or a line saying there are no more."""
    n, total, text = next_hint(m, lang)
    note = _session_of(m).note(m.lab.start_timeout_unit, lang)
    if not text:
        return note + line("no_more", lang, lab=m.lab.trainee_name, total=total)
    return f"{note}{line('hint', lang, n=n, total=total, lab=m.lab.trainee_name)}\n{text}"


def next_hint(m: Machine, lang: str) -> tuple[int, int, str]:
    """The next hint, counted: its number, how many the lab has, its text in ``lang``; when
    every hint was given, ``(total, total, '')``."""
    s = _session_of(m)
    hints = m.lab.hints_ja if lang == "ja" and m.lab.hints_ja else m.lab.hints
    if s.hints >= len(hints):
        return len(hints), len(hints), ""
    s.hints += 1
    _save(m, s)
    return s.hints, len(hints), hints[s.hints - 1]


def status(m: Machine, lang: str = "en") -> str:
    """``12 of 60 min, 1 of 4 hints, 0 resets`` for a VM in a workshop session, else ''."""
    s = session(m)
    if not s:
        return ""
    shortened = f", start timeout {s.start_timeout} s (workshop)" if s.start_timeout else ""
    return line("status", lang, elapsed=s.elapsed(), minutes=s.minutes, hints=s.hints, total=len(m.lab.hints),
                resets=s.resets) + shortened


def _session_of(m: Machine) -> Session:
    s = session(m)
    if s is None:
        raise YarakashiError(f"no workshop session for {called(m)} on {m.platform.name}: start one with ./run lab.start {called(m)}")
    return s
