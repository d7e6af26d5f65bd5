"""How a task ends when it cannot finish: an external tool failed, or the user interrupted it.

Every failure of an external command (vagrant, virsh, qemu-img, debootstrap, ssh...) reaches
the user as one line: what was being done, the exit code, the last lines of the tool's
output and where its whole log is; exit 1. Ctrl-C or SIGTERM ends a task with
``interrupted during <step>; cleaned up <what>`` and exit 130, never with a verdict.

>>> try:
...     with step("listing /nonexistent"):
...         _ = subprocess.run(["ls", "/nonexistent"], check=True, capture_output=True, text=True)
... except ToolFailed as exc:
...     print(exc)  # doctest: +ELLIPSIS
listing /nonexistent failed: ls exited 2: ls: cannot access '/nonexistent': No such file or directory
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from yarakashi import YarakashiError, calls

#: Lines of a tool's output quoted in the one-line message.
TAIL_LINES = 3
#: A frame of a Ruby backtrace, as Vagrant prints them when it crashes.
RUBY_FRAME = re.compile(r"^from \S+:\d+:in ")
#: Exit code of an interrupted task (as a shell reports SIGINT).
INTERRUPTED_EXIT = 130


class ToolFailed(YarakashiError):
    """An external command failed; the message is the one line the user sees."""

    exit_code = 1


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.during: str = ""
        self.cleaned: list[str] = []

    def line(self) -> str:
        """``interrupted during vagrant up of ...; cleaned up VM ...``"""
        cleaned = ", ".join(self.cleaned) or "nothing (nothing had been made)"
        return f"interrupted ({self.args[0]}) during {self.during or 'start-up'}; cleaned up {cleaned}"


class Cancelled(Interrupted):
    """The caller that follows the operation (:mod:`yarakashi.calls`) cancelled it."""

    def __init__(self) -> None:
        BaseException.__init__(self, "cancelled")
        self.signum = 0
        self.during = ""
        self.cleaned = []


def cancel_point() -> None:
    """Raise :class:`Cancelled` here if the caller has cancelled, once: the clean-up that follows
    runs to its end. Called where stopping is safe: as a step starts, while a wait polls."""
    call = calls.current()
    if call and call.cancel.is_set() and not call.raised:
        call.raised = True
        raise Cancelled()


_steps: list[str] = []
_received: list[int] = []


def install() -> None:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` (the first one; later ones wait for
    the clean-up to finish)."""
    _received.clear()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def _on_signal(signum: int, _frame: object) -> None:
    if _received:
        return  # already cleaning up: let it finish
    _received.append(signum)
    raise Interrupted(signum)


def interrupted() -> bool:
    """True once a signal arrived (code that tolerates a failed child asks this first)."""
    return bool(_received)


def current() -> str:
    """The innermost step running now ('' outside any).

    >>> with step("booting"):
    ...     current()
    'booting'
    """
    return _steps[-1] if _steps else ""


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of ``text``, joined into one line; a Ruby backtrace's frames
    (Vagrant's ``from .../machine.rb:203:in `call'``) are left out, its message is kept.

    >>> tail("a\\n\\nb\\nc\\nd\\n", 2)
    'c | d'
    >>> tail("x.rb:7:in `create': Network not found (Libvirt::Error)\\n\\tfrom /usr/lib/a.rb:3:in `call'\\n", 2)
    "x.rb:7:in `create': Network not found (Libvirt::Error)"
    """
    kept = [line.strip() for line in text.splitlines() if line.strip() and not RUBY_FRAME.match(line.strip())]
    return " | ".join(kept[-lines:])


def _log_since(log: Path | None, offset: int) -> str:
    if not log or not log.exists():
        return ""
    with log.open("rb") as fh:
        fh.seek(offset)
        return fh.read().decode(errors="replace")


@contextlib.contextmanager
def step(what: str, log: Path | None = None) -> Iterator[None]:
    """Name what runs inside; a tool failing there becomes :class:`ToolFailed`.

    ``log``: the file the tool's output streams to (its new lines are quoted from there).
    """
    cancel_point()
    offset = log.stat().st_size if log and log.exists() else 0
    _steps.append(what)
    try:
        yield
    except Interrupted as exc:
        exc.during = exc.during or what
        raise
    except subprocess.CalledProcessError as exc:
        output = "\n".join(o if isinstance(o, str) else o.decode(errors="replace") for o in (exc.stdout, exc.stderr) if o)
        output = output or _log_since(log, offset)
        raise ToolFailed(_line(what, exc.cmd, f"exited {exc.returncode}", output, log)) from None
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(_line(what, exc.cmd, f"did not finish within {exc.timeout:.0f} s", _log_since(log, offset), log)) from None
    except FileNotFoundError as exc:
        if exc.filename and "/" not in str(exc.filename):  # a command that is not installed
            raise ToolFailed(f"{what} failed: {exc.filename} is not installed (run the setup: ./run setup)") from None
        raise
    finally:
        _steps.pop()


def describe(exc: subprocess.CalledProcessError | subprocess.TimeoutExpired) -> str:
    """One line for a tool that failed outside any :func:`step`.

    >>> describe(subprocess.CalledProcessError(1, ["virsh", "start", "x"], "", "error: no domain"))
    'running virsh start x failed: virsh exited 1: error: no domain'
    """
    argv = exc.cmd if isinstance(exc.cmd, (list, tuple)) else str(exc.cmd).split()
    what = "running " + " ".join(str(a) for a in argv[:3])
    how = f"exited {exc.returncode}" if isinstance(exc, subprocess.CalledProcessError) else f"did not finish within {exc.timeout:.0f} s"
    output = "\n".join(o if isinstance(o, str) else o.decode(errors="replace") for o in (exc.stdout, exc.stderr) if o)
    return _line(what, exc.cmd, how, output, None)


def _line(what: str, cmd: object, how: str, output: str, log: Path | None) -> str:
    argv = cmd if isinstance(cmd, (list, tuple)) else str(cmd).split()
    tool = Path(str(argv[0])).name if argv else "a command"
    words = [f"{what} failed: {tool} {how}"]
    if tail(output):
        words.append(tail(output))
    if log:
        words.append(f"log: {log}")
    return ": ".join(words[:2]) + "".join(f"; {w}" for w in words[2:])


@contextlib.contextmanager
def undo_on_failure(what: str, undo: Callable[[], None]) -> Iterator[None]:
    """Run ``undo`` when the block fails or is interrupted: nothing half-made stays behind.

    ``what`` names it in the interrupt line (``cleaned up <what>``).
    """
    try:
        yield
    except Interrupted as exc:
        undo()
        exc.cleaned.append(what)
        raise
    except Exception:
        undo()
        raise


def wait_children(procs: list[subprocess.Popen], grace: float = 600, deadline: float | None = None) -> list[int]:  # type: ignore[type-arg]
    """Wait for children that clean up after themselves (pytest runs); on an interrupt, or once
    ``deadline`` (a ``time.monotonic()`` instant) has passed, pass SIGINT on and give them
    ``grace`` seconds to tear their VMs down before they are killed (then :class:`DeadlinePassed`).

    Exit codes as a shell reports them: a child killed by signal N gives 128 + N.
    """
    def stop() -> None:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)  # they ignore it if the terminal's arrived already
        until = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(timeout=max(1.0, until - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    try:
        while deadline is not None and any(proc.poll() is None for proc in procs):
            if time.monotonic() >= deadline:
                stop()
                raise DeadlinePassed()
            time.sleep(1)
        codes = [proc.wait() for proc in procs]
    except Interrupted:
        stop()
        raise
    return [128 - code if code < 0 else code for code in codes]


class DeadlinePassed(Exception):
    """:func:`wait_children` stopped its children at the deadline (they cleaned up first)."""
