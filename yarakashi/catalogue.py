"""Labs and platforms as data: ``labs/<name>/lab.toml`` and ``platforms.toml``.

Adding a lab is adding a directory; nothing here names a lab.

>>> from yarakashi import catalogue
>>> catalogue.lab("rsync-dirlinks").platforms
('debian11-split', 'debian12-merged')
>>> catalogue.lab("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
yarakashi.catalogue.UnknownName: unknown lab 'nope'; valid labs: ...rsync-dirlinks
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from yarakashi import YarakashiError, paths

#: What a lab goes through, in order. ``prepare``, ``break``, ``fix`` and ``verify`` run the
#: lab's scripts (``[steps]`` in lab.toml); the others are the same for every lab. A lab may
#: add steps of its own (a wrong fix, say); its ``check`` list orders them for ``lab.check``.
LIFECYCLE = ("up", "prepare", "break", "fix", "reboot", "verify", "destroy")
#: Steps every lab gets without a script.
BUILTIN_STEPS = ("reboot",)
STEP_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
#: Files every lab directory has.
LAB_FILES = ("lab.toml", "README.md", "README.ja.md")


class UnknownName(YarakashiError):
    """A lab, platform or step name that does not exist; the message lists valid ones."""


def choose(kind: str, name: str, valid: list[str] | tuple[str, ...], context: str = "") -> str:
    """Return ``name`` if it is one of ``valid``, else raise naming the valid choices.

    >>> choose("platform", "x", ["a", "b"])
    Traceback (most recent call last):
      ...
    yarakashi.catalogue.UnknownName: unknown platform 'x'; valid platforms: a, b
    """
    if name not in valid:
        where = f" {context}" if context else ""
        raise UnknownName(f"unknown {kind} '{name}'{where}; valid {kind}s: {', '.join(sorted(valid))}")
    return name


@dataclass(frozen=True)
class Platform:
    """A guest OS a lab runs on, with the facts that decide its outcome."""

    name: str
    box: str
    os: str
    usr: str
    stands_in_for: str
    kind: str
    providers: tuple[str, ...]
    suite: str = ""

    @property
    def offline(self) -> bool:
        """True when the box is built here from Debian's archive."""
        return self.kind == "offline"


@dataclass(frozen=True)
class Lab:
    """One やらかし: its story, the platforms it runs on and its scripted steps."""

    name: str
    path: Path
    title: str
    title_ja: str
    summary: str
    platforms: tuple[str, ...]
    steps: dict[str, str]
    packages: tuple[str, ...] = ()
    memory: int = 1024
    cpus: int = 2
    expect: dict[str, dict[str, str]] = field(default_factory=dict)
    check: tuple[str, ...] = ()
    test_minutes: float = 0

    def script(self, phase: str) -> Path:
        """The script a scripted phase runs (absolute path)."""
        choose("step", phase, list(self.steps), f"of lab {self.name}")
        return paths.REPO / self.steps[phase]


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise YarakashiError(f"{path}: {exc}") from exc


@cache
def box_settings() -> dict:
    """The ``[box]`` table of platforms.toml (packages every offline box has)."""
    return _read(paths.REPO / "platforms.toml")["box"]


@cache
def platforms() -> dict[str, Platform]:
    """All platforms by name."""
    data = _read(paths.REPO / "platforms.toml")["platforms"]
    return {
        name: Platform(name=name, **{**fields, "providers": tuple(fields["providers"])})
        for name, fields in data.items()
    }


def platform(name: str) -> Platform:
    """The platform called ``name``; an unknown name raises :class:`UnknownName`."""
    return platforms()[choose("platform", name, list(platforms()))]


def load_lab(path: Path) -> Lab:
    """Read and check one lab directory."""
    if path.name == "all":
        raise YarakashiError("a lab may not be called 'all' (lab.destroy all means every lab)")
    missing = [f for f in LAB_FILES if not (path / f).is_file()]
    if missing:
        raise YarakashiError(f"lab {path.name}: missing {', '.join(missing)}")
    data = _read(path / "lab.toml")
    try:
        lab = Lab(
            name=path.name,
            path=path,
            title=data["title"],
            title_ja=data["title_ja"],
            summary=data["summary"],
            platforms=tuple(data["platforms"]),
            steps=dict(data.get("steps", {})),
            packages=tuple(data.get("packages", ())),
            memory=int(data.get("memory", 1024)),
            cpus=int(data.get("cpus", 2)),
            expect=dict(data.get("expect", {})),
            check=tuple(data.get("check", ())),
            test_minutes=float(data.get("test_minutes", 0)),
        )
    except KeyError as exc:
        raise YarakashiError(f"{path / 'lab.toml'}: missing key {exc}") from exc
    for name in lab.platforms:
        choose("platform", name, list(platforms()))
    for step, script in lab.steps.items():
        if not isinstance(script, str):
            raise YarakashiError(f"lab {lab.name}: step {step} must name a script (top-level keys go above [steps])")
        if not STEP_NAME.fullmatch(step) or step in BUILTIN_STEPS:
            raise YarakashiError(f"lab {lab.name}: bad step name {step!r} (lower-case words, not {BUILTIN_STEPS})")
        path = (paths.REPO / script).resolve()
        if not path.is_file() or paths.PROVISIONING not in path.parents:
            raise YarakashiError(f"lab {lab.name}: step {step} script {script} is not a file under provisioning/")
    for step in lab.check:
        choose("step", step, [*lab.steps, *BUILTIN_STEPS], f"in the check list of lab {lab.name}")
    return lab


@cache
def labs() -> dict[str, Lab]:
    """All labs under ``labs/``, by name."""
    return {p.name: load_lab(p) for p in sorted(paths.LABS.iterdir()) if (p / "lab.toml").exists()}


def lab(name: str) -> Lab:
    """The lab called ``name``; an unknown name raises :class:`UnknownName`."""
    return labs()[choose("lab", name, list(labs()))]


def repo_packages(plat: Platform) -> tuple[str, ...]:
    """Packages the labs of ``plat`` install, baked into its box's local apt repo."""
    return tuple(sorted({p for lb in labs().values() if plat.name in lb.platforms for p in lb.packages}))
