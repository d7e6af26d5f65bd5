"""Reading TOML tables (lab.toml, platforms.toml) as dataclasses: the dataclass is the one
definition of which keys a table may have, which it must have, and each value's type; a table
that differs gets one line naming the file, the key and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING
from typing import Any, get_args, get_origin, get_type_hints

from yarakashi import YarakashiError


def known_keys(table: dict, valid: tuple[str, ...] | list[str], where: str) -> dict:
    """``table`` when all its keys are ``valid``; else an error naming the valid keys.

    >>> known_keys({"titel": "x"}, ["title", "summary"], "lab.toml")
    Traceback (most recent call last):
      ...
    yarakashi.YarakashiError: lab.toml: unknown key 'titel'; valid keys: summary, title
    """
    unknown = sorted(set(table) - set(valid))
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise YarakashiError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {names}; valid keys: {', '.join(sorted(valid))}")
    return table


#: How a TOML document names each type, for the error lines.
TOML_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}


def typed(value: object, hint: object, key: str, where: str) -> Any:
    """``value`` as the field's type ``hint`` says (str, int, float, bool, ``tuple[X, ...]`` from a
    list, ``dict[str, X]`` from a table), or one line naming the key and what it must be.

    >>> typed(["a", "b"], tuple[str, ...], "platforms", "lab.toml")
    ('a', 'b')
    >>> typed("debian12-merged", tuple[str, ...], "platforms", "lab.toml")
    Traceback (most recent call last):
      ...
    yarakashi.YarakashiError: lab.toml: platforms must be a list, not 'debian12-merged' (a string)
    >>> typed({"x": {"fix": 1}}, dict[str, dict[str, str]], "verdict", "lab.toml")
    Traceback (most recent call last):
      ...
    yarakashi.YarakashiError: lab.toml: verdict.x.fix must be a string, not 1 (an integer)
    """
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        return tuple(typed(v, args[0], f"{key}[{n}]", where) for n, v in enumerate(typed(value, list, key, where)))
    if origin is dict:
        return {k: typed(v, args[1], f"{key}.{k}", where) for k, v in typed(value, dict, key, where).items()}
    wanted = (int, float) if hint is float else hint
    if isinstance(value, wanted) and not isinstance(value, bool) or hint is bool and isinstance(value, bool):  # type: ignore[arg-type]
        return float(value) if hint is float else value  # type: ignore[arg-type]
    found = next((n for t, n in TOML_NAMES.items() if isinstance(value, t) and not isinstance(value, bool)), "a boolean"
                 if isinstance(value, bool) else type(value).__name__)
    raise YarakashiError(f"{where}: {key} must be {TOML_NAMES.get(hint, str(hint))}, not {value!r} ({found})")  # type: ignore[arg-type]


def typed_table(cls: type, table: dict, where: str, types: dict[str, object] | None = None,
                readers: dict[str, Callable[[object], object]] | None = None, given: tuple[str, ...] = ("name",)) -> dict[str, Any]:
    """A TOML table read as the dataclass ``cls``: its keys checked, those without a default
    present, each value typed. The fields in ``given`` are not keys (a table's own name, say);
    ``types`` overrides a field's type as TOML writes it (a path is a string there); ``readers``
    read a field's value themselves (a table that becomes an object of its own).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Box:
    ...     name: str
    ...     memory: int = 512
    >>> typed_table(Box, {"memory": 1024}, "[machines.s1]")
    {'memory': 1024}
    >>> typed_table(Box, {"memory": "lots"}, "[machines.s1]")
    Traceback (most recent call last):
      ...
    yarakashi.YarakashiError: [machines.s1]: memory must be an integer, not 'lots' (a string)
    """
    fields = {k: f for k, f in cls.__dataclass_fields__.items() if k not in given}
    known_keys(table, tuple(fields), where)
    absent = [k for k, f in fields.items() if k not in table and f.default is MISSING and f.default_factory is MISSING]
    if absent:
        raise YarakashiError(f"{where}: missing key{'s' if len(absent) > 1 else ''} {', '.join(repr(k) for k in absent)}")
    hints, readers = {**get_type_hints(cls), **(types or {})}, readers or {}
    return {k: readers[k](v) if k in readers else typed(v, hints[k], k, where) for k, v in table.items()}
