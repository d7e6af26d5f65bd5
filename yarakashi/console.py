"""The ``yarakashi`` command: the same invoke tasks as ``./run`` (``tasks.py`` of the checkout
the package points at), for an installed package: ``pip install -e /path/to/checkout``, or
``YARAKASHI_HOME=/path/to/checkout`` beside a plain install. Unlike ``./run`` it sets up nothing
and asks for no root: the tasks that need root say so in one line.

>>> checkout() == paths.REPO
True
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from yarakashi import __version__, paths


def checkout() -> Path:
    """The checkout whose labs and tasks the command uses; one clear line and exit 2 without one."""
    if not (paths.LABS.is_dir() and (paths.REPO / "tasks.py").is_file()):
        print(f"error: no yarakashi checkout at {paths.REPO} (labs/ and tasks.py): install it editable "
              "from a checkout (pip install -e /path/to/yarakashi) or set YARAKASHI_HOME to one", file=sys.stderr)
        raise SystemExit(2)
    return paths.REPO


def main() -> None:
    """``yarakashi lab.list``, ``yarakashi lab.check NAME --fix FILE``…: ``yarakashi --list`` shows them."""
    from invoke import Collection, Program

    spec = importlib.util.spec_from_file_location("yarakashi_tasks", checkout() / "tasks.py")
    assert spec and spec.loader
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    Program(name="yarakashi", binary="yarakashi", version=__version__, namespace=Collection.from_module(tasks)).run(sys.argv)


if __name__ == "__main__":
    main()
