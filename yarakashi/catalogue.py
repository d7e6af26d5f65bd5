"""Which labs and platforms there are: ``labs/<name>/lab.toml`` and ``platforms.toml`` read, checked
and looked up by name (what each one is: :mod:`yarakashi.model`).

Adding a lab is adding a directory; nothing here names a lab.

>>> from yarakashi import catalogue
>>> catalogue.lab("rsync-dirlinks").platforms
('debian11-split', 'debian12-merged', 'ubuntu-18.04', 'ubuntu-20.04')
>>> catalogue.lab("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
yarakashi.model.UnknownName: unknown lab 'nope'; valid labs: ...rsync-dirlinks; trainees' names: db-stops-after-reboot, ...
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, replace
from functools import cache
from pathlib import Path

from yarakashi import YarakashiError, paths, schema
from yarakashi.model import (ALIAS, BUILTIN_STEPS, EVIDENCE, LAB_FILES, PROVIDERS, STEP_NAME, VERDICTS, App, Lab, Mark, Platform,
                             Server, Spec, UnknownName, choose, step_on)


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


#: Platform fields the catalogue joins from the labs (what each box holds), not platforms.toml keys.
JOINED = ("name", "repo", "apps")


@cache
def platforms() -> dict[str, Platform]:
    """All platforms by name, each with what its box holds for the labs that run on it.

    >>> platforms()["debian12-merged"].repo, [a.name for a in platforms()["debian12-merged"].apps]
    (('mariadb-client', 'mariadb-server'), ['isuumo'])
    """
    every = labs()
    return {name: replace(plat, repo=tuple(sorted({p for lb in every.values() if name in lb.platforms for p in lb.packages})),
                          apps=tuple(app for lb in every.values() if name in lb.platforms for app in lb.apps))
            for name, plat in _declared().items()}


@cache
def _declared() -> dict[str, Platform]:
    """The platforms as platforms.toml declares them."""
    data = _read(paths.REPO / "platforms.toml")["platforms"]
    valid = [f for f in Platform.__dataclass_fields__ if f not in JOINED]
    required = [f for f, spec in Platform.__dataclass_fields__.items() if f not in JOINED and spec.default is MISSING
                and spec.default_factory is MISSING]
    found = {}
    for name, fields in data.items():
        where = f"platforms.toml [platforms.{name}]"
        schema.known_keys(fields, valid, where)
        missing = [f for f in required if f not in fields]
        if missing:
            raise YarakashiError(f"{where}: missing {', '.join(missing)}")
        found[name] = Platform(name=name, **{**fields, "providers": tuple(fields["providers"])})
    for plat in found.values():
        choose("evidence level", plat.evidence, list(EVIDENCE), f"of platform {plat.name}")
        for provider in plat.providers:
            choose("provider", provider, list(PROVIDERS), f"of platform {plat.name}")
    return found


def platform(name: str) -> Platform:
    """The platform called ``name``; an unknown name raises :class:`UnknownName`."""
    return platforms()[choose("platform", name, list(platforms()))]


#: lab.toml keys whose tables become objects of their own (each checks its keys).
_TABLES: dict[str, Callable[..., object]] = {
    "timeline": lambda v, where, path: tuple(Mark.from_table(t, f"{where} [[timeline]]") for t in schema.typed(v, list, "timeline", where)),
    "retest": lambda v, where, path: Spec.from_table(schema.typed(v, dict, "retest", where), f"{where} [retest]"),
    "machines": lambda v, where, path: tuple(Server.from_table(k, schema.typed(t, dict, f"machines.{k}", where), f"{where} [machines.{k}]")
                                             for k, t in schema.typed(v, dict, "machines", where).items()),
    "apps": lambda v, where, path: tuple(App.from_table(k, schema.typed(t, dict, f"apps.{k}", where), path, f"{where} [apps.{k}]")
                                         for k, t in schema.typed(v, dict, "apps", where).items()),
}


def load_lab(path: Path) -> Lab:
    """Read and check one lab directory. The keys a lab.toml may have, which of them it must
    have, and the type of each, are :class:`Lab`'s fields but ``name`` and ``path``."""
    if path.name == "all":
        raise YarakashiError("a lab may not be called 'all' (lab.destroy all means every lab)")
    missing = [f for f in LAB_FILES if not (path / f).is_file()]
    if missing:
        raise YarakashiError(f"lab {path.name}: missing {', '.join(missing)}")
    where = str(path / "lab.toml")
    readers = {key: functools.partial(read, where=where, path=path) for key, read in _TABLES.items()}
    lab = Lab(name=path.name, path=path, **schema.typed_table(Lab, _read(path / "lab.toml"), where, readers=readers,
                                                             given=("name", "path")))
    if lab.alias and not ALIAS.fullmatch(lab.alias):
        raise YarakashiError(f"{path / 'lab.toml'}: alias {lab.alias!r} must be lower-case letters, digits and hyphens")
    for name in lab.platforms:
        choose("platform", name, list(_declared()))
    for plat, steps in lab.platform_steps.items():
        choose("platform", plat, lab.platforms, f"in [platform_steps] of lab {lab.name}")
        for step in steps:
            choose("step", step, list(lab.steps), f"in [platform_steps.{plat}] of lab {lab.name}")
    for plat in lab.platforms:
        for step, script in lab.steps_for(plat).items():
            _check_step(lab, step, script)
    for mark in lab.timeline:
        if mark.machine:
            choose("machine", mark.machine, [m.name for m in lab.machines], f"in [[timeline]] of lab {lab.name}")
    for step in lab.check:
        choose("step", step, [*lab.steps, *BUILTIN_STEPS], f"in the check list of lab {lab.name}")
    for ref in lab.start:
        step, machine = step_on(ref)
        choose("step", step, [*lab.steps, *BUILTIN_STEPS], f"in the start list of lab {lab.name}")
        if machine:
            choose("machine", machine, [m.name for m in lab.machines], f"in the start list of lab {lab.name} ({ref})")
    if lab.hints_ja and len(lab.hints_ja) != len(lab.hints):
        raise YarakashiError(f"lab {lab.name}: {len(lab.hints_ja)} hints_ja for {len(lab.hints)} hints (one translation each)")
    for plat, stated in lab.verdict.items():
        choose("platform", plat, lab.platforms, f"in [verdict] of lab {lab.name}")
        for step, said in stated.items():
            choose("step", step, list(lab.expect.get(plat, {})), f"in [verdict.{plat}] of lab {lab.name} (one with an [expect.{plat}] line)")
            choose("verdict", said, list(VERDICTS), f"for [verdict.{plat}] {step} of lab {lab.name}")
    return lab


def _check_step(lab: Lab, step: str, script: object) -> None:
    if not isinstance(script, str):
        raise YarakashiError(f"lab {lab.name}: step {step} must name a script (top-level keys go above [steps])")
    if not STEP_NAME.fullmatch(step) or step in BUILTIN_STEPS:
        raise YarakashiError(f"lab {lab.name}: bad step name {step!r} (lower-case words, not {BUILTIN_STEPS})")
    path = (paths.REPO / script).resolve()
    if not path.is_file() or paths.PROVISIONING not in path.parents:
        raise YarakashiError(f"lab {lab.name}: step {step} script {script} is not a file under provisioning/")


@cache
def labs() -> dict[str, Lab]:
    """All labs under ``labs/``, by name; an alias must name no other lab."""
    found = {p.name: load_lab(p) for p in sorted(paths.LABS.iterdir()) if (p / "lab.toml").exists()}
    taken = set(found)
    for one in found.values():
        if one.alias in taken:
            raise YarakashiError(f"lab {one.name}: alias {one.alias!r} is already a lab's name or alias")
        taken.add(one.alias or one.name)
    return found


def aliases() -> dict[str, str]:
    """Each trainee name (alias) and the lab it stands for."""
    return {one.alias: name for name, one in labs().items() if one.alias}


def lab(name: str) -> Lab:
    """The lab called ``name`` or by its alias; an unknown name raises :class:`UnknownName`.

    >>> lab("db-stops-after-reboot").name
    'apparmor-cache'
    """
    name = aliases().get(name, name)
    try:
        return labs()[choose("lab", name, list(labs()))]
    except UnknownName as exc:
        raise UnknownName(f"{exc}; trainees' names: {', '.join(sorted(aliases()))}") from None


def find(lab_name: str, platform_name: str | None = None) -> tuple[Lab, Platform | None]:
    """What a command names, looked up in one place: a lab by name or alias, and one of its
    platforms (None when none is named); an unknown one raises :class:`UnknownName`.

    >>> [x.name for x in find("db-stops-after-reboot", "debian12-merged")]
    ['apparmor-cache', 'debian12-merged']
    """
    found = lab(lab_name)
    if not platform_name:
        return found, None
    return found, platforms()[choose("platform", platform_name, found.platforms, f"for lab {found.name}")]
