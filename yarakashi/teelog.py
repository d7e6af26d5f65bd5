"""Stream a child's output to the terminal and a log file at once.

python-vagrant hands a file object to ``subprocess``; this gives it the write end of a
pipe and copies what arrives, line by line, to both places. The terminal copy goes to
stderr, with the progress lines: stdout carries only a task's result.

>>> import subprocess, tempfile, pathlib
>>> log = pathlib.Path(tempfile.mkdtemp()) / "x.log"
>>> with tee(log, prefix="[x] ", stream=sys.stdout) as fh:
...     _ = subprocess.run(["echo", "hi"], stdout=fh)
[x] hi
>>> log.read_text()
'hi\\n'
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TextIO


@contextlib.contextmanager
def tee(log: Path, prefix: str = "", stream: TextIO | None = None) -> Iterator[IO[str]]:
    """Yield a writable file whose lines go to ``stream`` (stderr: stdout is for results, such
    as a verdict's JSON) and are appended to ``log``."""
    out = stream or sys.stderr
    log.parent.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()

    def pump() -> None:
        with os.fdopen(read_fd, encoding="utf-8", errors="replace") as src, log.open("a") as dst:
            for line in src:
                # A child killed mid-line (subprocess.call kills Vagrant when an interrupt
                # arrives) leaves a partial line: end it, so the next line is a line of its own.
                line = line if line.endswith("\n") else line + "\n"
                dst.write(line)
                dst.flush()
                out.write(prefix + line)
                out.flush()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    writer = os.fdopen(write_fd, "w")
    try:
        yield writer
    finally:
        writer.close()
        thread.join()


def tee_cm(log: Path, prefix: str = "") -> Callable[[], contextlib.AbstractContextManager[IO[str]]]:
    """A no-argument factory of :func:`tee`, the shape python-vagrant's out_cm/err_cm take."""
    return lambda: tee(log, prefix)
