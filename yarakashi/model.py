"""What a lab and a platform are: the dataclasses that ``labs/<name>/lab.toml`` and
``platforms.toml`` are read into (:mod:`yarakashi.catalogue` reads them), and the one way an
unknown name is refused.

>>> choose("platform", "debian12-merged", ["debian11-split", "debian12-merged"])
'debian12-merged'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from yarakashi import YarakashiError, paths, schema

#: What a lab goes through, in order. ``prepare``, ``break``, ``fix`` and ``verify`` run the
#: lab's scripts (``[steps]`` in lab.toml); the others are the same for every lab. A lab may
#: add steps of its own (a wrong fix, say); its ``check`` list orders them for ``lab.check``.
LIFECYCLE = ("up", "prepare", "break", "fix", "reboot", "verify", "destroy")
#: Steps every lab gets without a script.
BUILTIN_STEPS = ("reboot",)
STEP_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
#: Vagrant providers the Vagrantfile is rendered for.
PROVIDERS = ("libvirt", "virtualbox")
#: How sure the project is of what happens on a platform.
EVIDENCE = {
    "verified": "verified on real VMs here",
    "expected": "expected from the packages' sources (not booted here)",
}
#: Files every lab directory has.
LAB_FILES = ("lab.toml", "README.md", "README.ja.md")
#: A lab's alias (the trainees' name for it).
ALIAS = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
#: What a step's ``[verdict.<platform>]`` may say: lab.check after that step PASSes or FAILs.
VERDICTS = ("PASS", "FAIL")


class UnknownName(YarakashiError):
    """A lab, platform or step name that does not exist; the message lists valid ones."""



@dataclass(frozen=True)
class Mark:
    """A moment of the incident (lab.toml ``[[timeline]]``): the journal line that shows it in
    the lab's guest (a regular expression), its label (en, ja), and the post's own line for it
    with its time, for ``lab.timeline``."""

    match: str
    label: str
    label_ja: str
    post_at: str = ""  # HH:MM:SS in the post's log, the same day
    post_line: str = ""
    machine: str = ""  # whose journal shows it: the lab's VM (""), or another machine of the lab ("s1")

    @classmethod
    def from_table(cls, table: dict, where: str = "[[timeline]]") -> "Mark":
        """``Mark.from_table({"match": "x", "label": "l", "label_ja": "j"}).label == "l"``"""
        try:
            mark = cls(**schema.typed_table(cls, table, where))
            re.compile(mark.match)
            return mark
        except re.error as exc:
            raise YarakashiError(f"{where}: match is not a regular expression: {exc}") from None


@dataclass(frozen=True)
class Spec:
    """What the organisers' reboot test looks at: lab.toml ``[retest]``, or the command line
    for a team's own host."""

    services: tuple[str, ...] = ()
    data: str = ""  # a command printing the data a team wrote (run as root)
    data_written: str = ""  # a file on the target with that output, written before the reboot

    @classmethod
    def from_table(cls, table: dict, where: str = "[retest]") -> "Spec":
        """``Spec.from_table({"services": ["mariadb.service"]}).services == ("mariadb.service",)``"""
        return cls(**schema.typed_table(cls, table, where))


@dataclass(frozen=True)
class Server:
    """Another guest of the lab, in the same Vagrantfile (lab.toml ``[machines.NAME]``), on the
    same lab network: the post's app server ``s1`` beside the database the lab breaks.

    >>> Server.from_table("s1", {"memory": 512}).cpus
    1
    """

    name: str
    memory: int = 512
    cpus: int = 1

    @classmethod
    def from_table(cls, name: str, table: dict, where: str = "[machines]") -> "Server":
        fields = schema.typed_table(cls, table, where)
        if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", name) or name == "default":
            raise YarakashiError(f"{where}: a machine's name is a short host name (not 'default'), not {name!r}")
        return cls(name, **fields)


@dataclass(frozen=True)
class App:
    """A lab's program built into its platforms' boxes (lab.toml ``[apps.NAME]``): the Go main
    package in ``source`` (a directory of the lab's), built with Debian's ``packages``, which
    leave the box afterwards.

    >>> App.from_table("isuumo", {"source": "isuumo", "packages": ["golang-go"]}, paths.LABS / "apparmor-cache").source.name
    'isuumo'
    """

    name: str
    source: Path
    packages: tuple[str, ...]

    @classmethod
    def from_table(cls, name: str, table: dict, lab_dir: Path, where: str = "[apps]") -> "App":
        fields = schema.typed_table(cls, {"packages": [], **table}, where, {"source": str})
        source = (lab_dir / fields["source"]).resolve()
        if not (source / "main.go").is_file() or lab_dir.resolve() not in source.parents:
            raise YarakashiError(f"{where}: source must be a directory of the lab's with a main.go, not {fields['source']!r}")
        return cls(name, source, fields["packages"])


def choose(kind: str, name: str, valid: list[str] | tuple[str, ...], context: str = "") -> str:
    """Return ``name`` if it is one of ``valid``, else raise naming the valid choices.

    >>> choose("platform", "x", ["a", "b"])
    Traceback (most recent call last):
      ...
    yarakashi.model.UnknownName: unknown platform 'x'; valid platforms: a, b
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
    evidence: str
    suite: str = ""
    boxes: dict[str, str] = field(default_factory=dict)
    #: Vagrant's guest type (``config.vm.guest``): named, Vagrant skips probing the guest over
    #: SSH for each OS it knows (about 12 s per ``vagrant up`` under TCG, measured here).
    guest: str = ""
    #: What its box holds for the labs that run on it (joined by the catalogue, never read from
    #: platforms.toml): the packages of its local apt repository, the programs built in.
    repo: tuple[str, ...] = ()
    apps: tuple[App, ...] = ()

    @property
    def offline(self) -> bool:
        """True when the box is built here from Debian's archive."""
        return self.kind == "offline"

    def box_for(self, provider: str) -> str:
        """The box this platform uses with ``provider``.

        >>> from yarakashi import catalogue
        >>> catalogue.platform("ubuntu-18.04").box_for("libvirt")
        'generic/ubuntu1804'
        """
        choose("provider", provider, self.providers, f"for platform {self.name}")
        return self.boxes.get(provider, self.box)


@dataclass(frozen=True)
class Lab:
    """One やらかし: its story, the platforms it runs on and its scripted steps."""

    name: str
    path: Path
    title: str
    title_ja: str
    summary: str
    platforms: tuple[str, ...]
    steps: dict[str, str] = field(default_factory=dict)
    level: str = ""
    minutes: int = 0
    packages: tuple[str, ...] = ()
    memory: int = 1024
    cpus: int = 2
    expect: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Per platform and step: PASS or FAIL, what lab.check after that step is expected to say
    #: (``lab.test --platform`` asserts it where no test has verified it).
    verdict: dict[str, dict[str, str]] = field(default_factory=dict)
    check: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()  # what a fixed server is, judged by the cause (verify checks it)
    offline_evidence: tuple[str, ...] = ()  # paths read from the stopped disk when a FAIL left no SSH
    timeline: tuple[Mark, ...] = ()  # the incident's moments, for lab.timeline
    test_minutes: float = 0  # what the lab's story test (tests/lab/test_<lab>.py) takes, for the lane planner
    corpus_minutes: float = 0  # what its fix corpus takes in tests/lab/test_corpus.py, for the lane planner
    alias: str = ""  # the name trainees use: it says what the team saw, not the cause
    symptom: str = ""  # the title trainees see (the brief's situation), English and Japanese
    symptom_ja: str = ""
    start: tuple[str, ...] = ()  # lab.start: the steps that bring a trainee to the team's moment
    start_timeout_unit: str = ""  # the unit whose start timeout lab.start --start-timeout shortens
    hints: tuple[str, ...] = ()  # lab.hint: one at a time, each leading further, none handing over the fix
    hints_ja: tuple[str, ...] = ()
    platform_steps: dict[str, dict[str, str]] = field(default_factory=dict)
    retest: Spec = Spec()
    hostname: str = ""  # the lab VM's host name as the team knew it (the post's ``s2``; ``s1`` if not given)
    machines: tuple[Server, ...] = ()
    apps: tuple[App, ...] = ()
    spoilers: tuple[str, ...] = ()  # words that give the cause or the fix away: nothing trainees see may hold one
    #: What a trainee reads of each verify check (the room's portal), by the check's name: English, Japanese.
    trainee_checks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    corpus_least: dict[str, int] = field(default_factory=dict)  # fixes/ has at least this many scripts per expected verdict

    @property
    def trainee_name(self) -> str:
        """The name shown to trainees: the symptom-named alias, or the lab's name."""
        return self.alias or self.name

    @property
    def server_names(self) -> tuple[str, ...]:
        """The names a team knows its servers by, the lab's own VM first.

        >>> from yarakashi import catalogue
        >>> catalogue.lab("apparmor-cache").server_names, catalogue.lab("rsync-dirlinks").server_names
        (('s2', 's1'), ('s1',))
        """
        return (self.hostname or "s1", *(m.name for m in self.machines))

    def steps_for(self, platform: str) -> dict[str, str]:
        """The lab's steps on ``platform``: ``[steps]`` with ``[platform_steps."<platform>"]`` on top.

        >>> from yarakashi import catalogue
        >>> catalogue.lab("apparmor-cache").steps_for("ubuntu-18.04")["break"]
        'provisioning/apparmor-cache/ubuntu/swap-to-mariadb.sh'
        """
        return {**self.steps, **self.platform_steps.get(platform, {})}

    def script(self, phase: str, platform: str | None = None) -> Path:
        """The script a step runs (absolute path), on ``platform`` if given."""
        steps = self.steps_for(platform) if platform else self.steps
        choose("step", phase, list(steps), f"of lab {self.name}")
        return paths.REPO / steps[phase]


def step_on(ref: str) -> tuple[str, str]:
    """A step of a start list and the machine it runs on: ``app@s1`` runs ``app`` on the lab's
    machine ``s1``; a bare step runs on the lab's own VM ('').

    >>> step_on("app@s1"), step_on("prepare")
    (('app', 's1'), ('prepare', ''))
    """
    step, _, machine = ref.partition("@")
    return step, machine
