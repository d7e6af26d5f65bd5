"""The command line's side of every operation: names and numbers read from the command line,
results rendered as text, and how a task ends (one line, never a traceback). ``tasks.py`` wires
these to invoke; the operations themselves are in :mod:`yarakashi.app`.

>>> positive_int("--repeat", "3")
3
>>> bound("960"), bound(None)
(960.0, None)
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import invoke
from invoke.exceptions import Exit

from yarakashi import YarakashiError, checking, failures, model, timeline
from yarakashi.app import room, vms
from yarakashi.verdict import Report, write_junit


#: Help for the arguments most tasks take, given where a task says nothing else.
COMMON_HELP = {"name": "a lab: its name or the trainees' name for it (./run lab.list)",
               "platform": "a platform (./run box.list)",
               "json": "print JSON Lines: one JSON object a line"}


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke's ``@task`` with long options only, so that an option means one thing in every task
    (with invoke's own short flags ``-p`` was --platform in one task and --pytest in another), and
    with :data:`COMMON_HELP` where a task gives none."""

    def make(fn: Any) -> Any:
        names = inspect.signature(fn).parameters
        helps = {**{k: v for k, v in COMMON_HELP.items() if k in names}, **kwargs.pop("help", {})}
        return invoke.task(fn, auto_shortflags=False, help=helps, **kwargs)

    if args and callable(args[0]):
        return make(args[0])
    return make


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """End a task with one clear line, never a traceback: bad input exits 2, a failed tool 1,
    an interrupt (SIGINT, SIGTERM) 130 after cleaning up; output cut short by its reader, 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        failures.install()
        asked = next((a for a in [*args[1:], *kwargs.values()] if a in ("-h", "--help")), None)
        if asked:  # after a task, invoke reads it as the lab's name
            task = next((a for a in sys.argv if a.rsplit(".", 1)[-1].replace("-", "_") in (fn.__name__, fn.__name__.removeprefix("lab_"))), "TASK")
            raise Exit(f"error: {asked} after a task is read as its argument; help on a task: ./run --help {task}", code=2)
        try:
            done = fn(*args, **kwargs)
            sys.stdout.flush()  # here, where a reader that went away is caught, not at the interpreter's exit
            return done
        except failures.Interrupted as exc:
            vms.after_interrupt(exc)
            raise Exit(exc.line(), code=failures.INTERRUPTED_EXIT) from None
        except YarakashiError as exc:
            raise Exit(f"error: {exc}", code=exc.exit_code) from None
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:  # a tool outside any named step
            raise Exit(f"error: {failures.describe(exc)}", code=1) from None
        except BrokenPipeError:  # the reader went away (./run lab.list | head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise Exit(code=1) from None

    return wrapper


class NeedsRoot(YarakashiError):
    """A task that touches VMs, libvirtd or the lab network, run by another user."""


def need_root() -> None:
    """Refuse in one line, before anything is made, unless run as root: VMs, libvirtd and the
    lab's network namespace need it (``./run`` asks for it through sudo or su)."""
    if os.geteuid() != 0:
        raise NeedsRoot("this task needs root (VMs, libvirtd, a network namespace): run it as root, or through "
                        "./run (./run lab.up NAME, ./run test...), which asks for root with sudo or su")


def as_root(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A task that runs only as root (:func:`need_root` first)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        need_root()
        return fn(*args, **kwargs)

    return wrapper


def positive_int(option: str, text: str | int) -> int:
    """A command-line count: a whole number from 1 up, else a clear error."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise YarakashiError(f"{option} must be a whole number from 1 up, not {text!r}")
    return value


def bound(text: str | None) -> float | None:
    """``--bound``: seconds, a positive number (None: derived from the units' start timeouts)."""
    if text is None or text == "":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise YarakashiError(f"--bound must be a positive number of seconds, not {text!r}")
    return seconds


def json_lines(rows: Iterable[Any]) -> str:
    """Rows (dataclasses or dicts) as JSON Lines, the one shape ``--json`` prints in every task.

    >>> print(json_lines([{"a": 1}, {"b": "ä"}]))
    {"a": 1}
    {"b": "ä"}
    """
    return "\n".join(json.dumps(asdict(r) if is_dataclass(r) else r, ensure_ascii=False) for r in rows)


def verdicts(reports: list[Report], as_json: bool = False, junit: str | None = None) -> None:
    """Print verdicts (``--json``: JSON Lines, one object a verdict), write them as JUnit XML
    (``--junit FILE``); exit 1 unless every one passed."""
    for report in reports:
        print(json_lines([report.to_dict()]) if as_json else report.text())
    if junit:
        write_junit(reports, Path(junit))
    if not all(r.passed for r in reports):
        raise Exit(code=1)


def lab_list(trainee: bool = False) -> str:
    """The catalogue as text: each lab's story (English, Japanese), its platforms with their
    evidence and the lifecycle; ``trainee``: as trainees see it, with the command that starts it."""
    rows = room.catalogue_rows(trainee)
    width = max(len(r.name) for r in rows) + 2 if trainee else 17
    out = []
    for r in rows:
        if trainee:
            tail = f"{r.size}; start: ./run lab.start {r.name}"
        else:
            plats = ", ".join(f"{p} ({evidence})" for p, evidence in r.platforms)
            tail = f"{r.size}; platforms: {plats}" + (f"; trainees: {r.alias}" if r.alias else "")
        out += [f"{r.name:<{width}}{r.title}", f"{'':<{width}}{r.title_ja}", f"{'':<{width}}{tail}", ""]
    if trainee:
        return "\n".join(out).rstrip("\n")
    return "\n".join([*out, "lifecycle: " + " -> ".join(model.LIFECYCLE)])


def status() -> str:
    """Every lab VM of this checkout and the lab network, as the facilitator's table."""
    rows, network = vms.status()
    out = [f"{'LAB':<16} {'PLATFORM':<18} {'INSTANCE':<18} {'HOST':<16} STATE"]
    for r in rows:
        saved = f" (saved state {checking.BEFORE_FIX!r} of {r.saved})" if r.saved else ""
        out.append(f"{r.lab:<16} {r.platform:<18} {r.instance:<18} {r.host:<16} {r.state}{saved}"
                   + (f"; workshop: {r.workshop}" if r.workshop else ""))
    return "\n".join([*out, f"lab network: {network}"])


def status_json() -> str:
    """The status as JSON Lines: an object a VM, then the lab network's."""
    rows, network = vms.status()
    return json_lines([*({"kind": "vm", **asdict(r)} for r in rows), {"kind": "lab network", "mode": network}])


def box_list() -> str:
    """The offline platforms and the state of their boxes, as a table."""
    out = [f"{'PLATFORM':<18} {'BOX':<28} {'STATE':<8} {'EVIDENCE':<9} {'STANDS IN FOR':<14} OS"]
    out += [f"{b.platform:<18} {b.box:<28} {b.state:<8} {b.evidence:<9} {b.stands_in_for:<14} {b.os}" for b in vms.box_list()]
    return "\n".join(out)


def timeline_text(found: list[timeline.Moment], picture: Path) -> str:
    """The incident's moments as two tables (English, Japanese) and where its picture is."""
    return f"{timeline.table(found, 'en')}\n\n{timeline.table(found, 'ja')}\n\npicture: {picture}"


def room_plan(p: room.RoomPlan) -> str:
    """A room's plan as a table and a closing line that says whether it fits this host."""
    labs = [f"{t.lab} ({t.trainee_name})" for t in p.teams]
    width, lab_width = max(len(t.team) for t in p.teams), max(len(x) for x in [*labs, "LAB (AS THE TEAM SEES IT)"])
    rows = [f"room {p.room} ({p.lang}): {len(p.teams)} teams", f"{'TEAM':<{width}}  {'LAB (AS THE TEAM SEES IT)':<{lab_width}}  SERVERS"]
    rows += [f"{t.team:<{width}}  {lab:<{lab_width}}  " + ", ".join(f"{s} {mib} MiB" for s, mib in t.servers)
             for t, lab in zip(p.teams, labs)]
    verdict = ("fits" if p.fits else f"does not fit: {p.guests - p.places} more than this host runs at once "
               "(fewer teams, or teams on another libvirt host: lab.start --host)")
    rows.append(f"{p.guests} lab guests, {p.memory_mib} MiB; this host runs {p.places} at once: {verdict}")
    return "\n".join(rows)
