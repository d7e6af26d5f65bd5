"""The catalogue: every lab directory is complete and consistent with the platforms."""

from __future__ import annotations

import re
import shutil

import pytest

from yarakashi import YarakashiError, catalogue, model, paths


def test_every_lab_directory_loads_with_its_fixed_files() -> None:
    found = {p.name for p in paths.LABS.iterdir() if p.is_dir()}
    assert found and set(catalogue.labs()) == found
    for lab in catalogue.labs().values():
        for name in model.LAB_FILES:
            assert (lab.path / name).is_file(), f"{lab.name} lacks {name}"
        assert lab.title and lab.title_ja and lab.summary


def test_every_step_script_exists_and_is_executable() -> None:
    for lab in catalogue.labs().values():
        for phase in lab.steps:
            script = lab.script(phase)
            assert script.is_file() and script.stat().st_mode & 0o111, script


def test_expectations_name_only_the_labs_platforms_and_phases() -> None:
    for lab in catalogue.labs().values():
        for plat, phases in lab.expect.items():
            assert plat in lab.platforms, f"{lab.name}: expect.{plat} is not one of its platforms"
            assert set(phases) <= {*lab.steps, *model.LIFECYCLE}, f"{lab.name}: {set(phases)}"


def test_unknown_names_say_what_is_valid() -> None:
    with pytest.raises(model.UnknownName, match="unknown lab 'nope'; valid labs: .*rsync-dirlinks"):
        catalogue.lab("nope")
    with pytest.raises(model.UnknownName, match="valid platforms: debian11-split, debian12-merged"):
        catalogue.platform("ubuntu-99.04")
    with pytest.raises(model.UnknownName, match="unknown step 'reboot' of lab rsync-dirlinks; valid steps: break, fix, prepare, verify"):
        catalogue.lab("rsync-dirlinks").script("reboot")


def test_a_lab_naming_an_unknown_platform_is_rejected(tmp_path, monkeypatch) -> None:
    lab = tmp_path / "broken"
    lab.mkdir()
    for name in ("README.md", "README.ja.md"):
        (lab / name).write_text("x")
    (lab / "lab.toml").write_text('title="t"\ntitle_ja="t"\nsummary="s"\nplatforms=["windows-95"]\n')
    with pytest.raises(model.UnknownName, match="windows-95"):
        catalogue.load_lab(lab)
    (lab / "README.ja.md").unlink()
    with pytest.raises(YarakashiError, match="missing README.ja.md"):
        catalogue.load_lab(lab)


def test_platforms_cover_both_usr_layouts() -> None:
    layouts = {p.usr for p in catalogue.platforms().values() if p.offline}
    assert layouts == {"split", "merged"}


def test_the_data_layer_loads_no_operation_code() -> None:
    import subprocess
    import sys

    code = ("import sys, yarakashi.catalogue as c; c.labs(); c.platforms(); "
            "print(sorted(m for m in sys.modules if m.startswith('yarakashi') or m == 'testinfra'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=paths.REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['yarakashi', 'yarakashi.catalogue', 'yarakashi.model', 'yarakashi.paths', 'yarakashi.schema']"


def test_unknown_keys_in_lab_toml_are_rejected_with_the_valid_ones(tmp_path) -> None:
    lab = tmp_path / "typo-lab"
    lab.mkdir()
    for name in model.LAB_FILES:
        (lab / name).write_text("")
    (lab / "lab.toml").write_text('title = "t"\ntitle_ja = "t"\nsummary = "s"\nplatforms = []\nlevle = "easy"\n')
    with pytest.raises(YarakashiError, match=r"lab.toml: unknown key 'levle'; valid keys: alias, apps, check, corpus_least, corpus_minutes, cpus, expect, fixed, hints, hints_ja, hostname, level, machines, "):
        catalogue.load_lab(lab)


def test_unknown_keys_in_platforms_toml_are_rejected(tmp_path, monkeypatch) -> None:
    (tmp_path / "platforms.toml").write_text('[box]\npackages = []\n[platforms.x]\nbox = "b"\nos = "o"\nusr = "merged"\n'
                                             'stands_in_for = "u"\nkind = "offline"\nproviders = ["libvirt"]\n'
                                             'evidence = "verified"\nsweet = "bookworm"\n')
    monkeypatch.setattr(paths, "REPO", tmp_path)
    caches = (catalogue.platforms, catalogue._declared, catalogue.labs)
    for cached in caches:
        cached.cache_clear()
    try:
        with pytest.raises(YarakashiError, match=r"\[platforms.x\]: unknown key 'sweet'; valid keys: box, boxes, evidence, guest, kind, os"):
            catalogue.platforms()
    finally:
        for cached in caches:
            cached.cache_clear()


def test_level_and_minutes_are_read_and_shown() -> None:
    from yarakashi import cli

    lab = catalogue.lab("rsync-dirlinks")
    assert lab.level == "easy" and lab.minutes == 20
    assert "level easy, about 20 min" in cli.lab_list()


def test_a_lab_answers_to_its_trainee_name_and_the_trainee_catalogue_gives_no_cause() -> None:
    """``lab.start db-stops-after-reboot``: trainees meet a lab by what the team saw."""
    assert catalogue.lab("db-stops-after-reboot") is catalogue.lab("apparmor-cache")
    from yarakashi import cli

    listed = cli.lab_list(trainee=True)
    for one in catalogue.labs().values():
        assert f"./run lab.start {one.alias}" in listed and one.symptom_ja in listed
        assert one.name not in listed and one.title not in listed


ALIAS, START = 'alias = "db-stops-after-reboot"', 'start = ["prepare", "break", "app@s1", "reboot"]'


@pytest.mark.parametrize(("line", "edited", "message"), [
    (ALIAS, 'alias = "Stale_Cache"', "alias 'Stale_Cache' must be lower-case letters, digits and hyphens"),
    (ALIAS, 'alias = "rsync-dirlinks"', "alias 'rsync-dirlinks' is already a lab's name or alias"),
    (START, 'start = ["prepare", "app@s9"]', "unknown machine 's9' in the start list of lab apparmor-cache (app@s9); valid machines: s1"),
    (START, 'start = ["prepare", "deploy@s1"]', "unknown step 'deploy' in the start list of lab apparmor-cache; valid steps: "),
    ("memory = 1536", 'memory = "lots"', "lab.toml: memory must be an integer, not 'lots' (a string)"),
    ("cpus = 1\n", "cpus = true\n", "lab.toml: cpus must be an integer, not True (a boolean)"),
    ("test_minutes = 30", "test_minutes = 30.5", None),
    ("minutes = 60", "minutes = 60.5", "lab.toml: minutes must be an integer, not 60.5 (a number)"),
    ('platforms = ["debian12-merged", "ubuntu-18.04", "ubuntu-20.04"]', 'platforms = "debian12-merged"',
     "lab.toml: platforms must be a list, not 'debian12-merged' (a string)"),
    (START, 'start = ["prepare", 7]', "lab.toml: start[1] must be a string, not 7 (an integer)"),
    ("[machines.s1]\nmemory = 512", "[machines.s1]\nmemory = [512]", "[machines.s1]: memory must be an integer, not [512] (a list)"),
    ('title = "', 'titel = "', "lab.toml: unknown key 'titel'; valid keys: alias, apps, check, corpus_least, corpus_minutes, cpus"),
])
def test_a_bad_value_in_a_lab_toml_is_one_clear_error(line, edited, message, tmp_path, monkeypatch) -> None:
    """A taken or malformed trainees' name; a start step on a machine or of a step the lab lacks;
    a value of the wrong type (the types are :class:`model.Lab`'s); a key the lab lacks.
    ``None``: the edit is valid (a whole number of minutes may be a fraction in test_minutes)."""
    labs = tmp_path / "labs"
    shutil.copytree(paths.LABS, labs)
    text = (labs / "apparmor-cache" / "lab.toml").read_text()
    assert line in text
    (labs / "apparmor-cache" / "lab.toml").write_text(text.replace(line, edited))
    monkeypatch.setattr(paths, "LABS", labs)
    catalogue.labs.cache_clear()
    try:
        if message is None:
            assert catalogue.labs()["apparmor-cache"].test_minutes == 30.5
            return
        with pytest.raises(YarakashiError, match=re.escape(message)) as raised:
            catalogue.labs()
        assert "\n" not in str(raised.value)
    finally:
        catalogue.labs.cache_clear()


def test_a_labs_other_machines_and_apps_are_checked_where_they_are_read(tmp_path) -> None:
    with pytest.raises(YarakashiError, match=r"^x: a machine's name is a short host name \(not 'default'\), not 'default'$"):
        model.Server.from_table("default", {}, "x")
    with pytest.raises(YarakashiError, match=r"^x: unknown key 'ram'; valid keys: cpus, memory$"):
        model.Server.from_table("s1", {"ram": 1}, "x")
    (tmp_path / "app").mkdir()
    with pytest.raises(YarakashiError, match=r"^x: source must be a directory of the lab's with a main.go, not 'app'$"):
        model.App.from_table("app", {"source": "app"}, tmp_path, "x")
    with pytest.raises(YarakashiError, match=r"^x: source must be a directory of the lab's with a main.go, not '\.\./apparmor-cache/isuumo'$"):
        model.App.from_table("app", {"source": "../apparmor-cache/isuumo"}, paths.LABS / "memory-engine", "x")


def test_a_machine_is_named_as_the_post_names_it() -> None:
    from yarakashi.app import target

    def named(machine: str | None) -> str:
        return target.existing(target.resolve("apparmor-cache", "debian12-merged", machine=machine)).domain

    s2 = named(None)
    assert named("s2") == s2 and named("default") == s2
    assert named("s1") == s2.removesuffix("default") + "s1"
    with pytest.raises(YarakashiError, match=r"^unknown machine 's3' of lab apparmor-cache; valid machines: s1, s2$"):
        named("s3")
    with pytest.raises(YarakashiError, match=r"^unknown machine 's1' of lab rsync-dirlinks; valid machines: default$"):
        target.resolve("rsync-dirlinks", "debian12-merged", machine="s1")
