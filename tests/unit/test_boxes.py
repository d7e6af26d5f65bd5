"""Box inputs: what goes into a box and when it must be rebuilt."""

from __future__ import annotations

from yarakashi import boxes, catalogue


def test_usr_layout_and_suite_come_from_the_platform() -> None:
    split = boxes.build_env(catalogue.platform("debian11-split"))
    merged = boxes.build_env(catalogue.platform("debian12-merged"))
    assert (split["YK_SUITE"], split["YK_USR"]) == ("bullseye", "split")
    assert (merged["YK_SUITE"], merged["YK_USR"]) == ("bookworm", "merged")
    for env in (split, merged):
        assert {"openssh-server", "apparmor", "rsync", "grub-pc"} <= set(env["YK_PACKAGES"].split())


def test_labs_packages_are_baked_into_the_boxes_of_their_platforms() -> None:
    for plat in catalogue.platforms().values():
        wanted = {p for lab in catalogue.labs().values() if plat.name in lab.platforms for p in lab.packages}
        assert set(boxes.build_env(plat)["YK_REPO"].split()) == wanted


def test_key_changes_with_any_input(monkeypatch) -> None:
    plat = catalogue.platform("debian12-merged")
    key = boxes.input_key(plat)
    assert key == boxes.input_key(plat)
    monkeypatch.setattr(catalogue, "repo_packages", lambda p: ("cowsay",))
    assert boxes.input_key(plat) != key
