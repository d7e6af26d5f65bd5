"""The catalogue: every lab directory is complete and consistent with the platforms."""

from __future__ import annotations

import pytest

from yarakashi import YarakashiError, catalogue, paths


def test_every_lab_directory_loads_with_its_fixed_files() -> None:
    found = {p.name for p in paths.LABS.iterdir() if p.is_dir()}
    assert found and set(catalogue.labs()) == found
    for lab in catalogue.labs().values():
        for name in catalogue.LAB_FILES:
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
            assert set(phases) <= {*lab.steps, *catalogue.LIFECYCLE}, f"{lab.name}: {set(phases)}"


def test_unknown_names_say_what_is_valid() -> None:
    with pytest.raises(catalogue.UnknownName, match="unknown lab 'nope'; valid labs: .*rsync-dirlinks"):
        catalogue.lab("nope")
    with pytest.raises(catalogue.UnknownName, match="valid platforms: debian11-split, debian12-merged"):
        catalogue.platform("ubuntu-99.04")
    with pytest.raises(catalogue.UnknownName, match="unknown step 'reboot' of lab rsync-dirlinks; valid steps: break, fix, verify"):
        catalogue.lab("rsync-dirlinks").script("reboot")


def test_a_lab_naming_an_unknown_platform_is_rejected(tmp_path, monkeypatch) -> None:
    lab = tmp_path / "broken"
    lab.mkdir()
    for name in ("README.md", "README.ja.md"):
        (lab / name).write_text("x")
    (lab / "lab.toml").write_text('title="t"\ntitle_ja="t"\nsummary="s"\nplatforms=["windows-95"]\n')
    with pytest.raises(catalogue.UnknownName, match="windows-95"):
        catalogue.load_lab(lab)
    (lab / "README.ja.md").unlink()
    with pytest.raises(YarakashiError, match="missing README.ja.md"):
        catalogue.load_lab(lab)


def test_platforms_cover_both_usr_layouts() -> None:
    layouts = {p.usr for p in catalogue.platforms().values() if p.offline}
    assert layouts == {"split", "merged"}
