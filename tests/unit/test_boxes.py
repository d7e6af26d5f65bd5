"""Box inputs: what goes into a box and when it must be rebuilt."""

from __future__ import annotations

from dataclasses import replace

from yarakashi import boxes, catalogue, model


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


def test_key_changes_with_any_input() -> None:
    plat = catalogue.platform("debian12-merged")
    key = boxes.input_key(plat)
    assert key == boxes.input_key(plat)
    assert boxes.input_key(replace(plat, repo=("cowsay",))) != key


def test_the_apps_are_built_into_the_boxes_of_their_labs_and_their_source_is_an_input(tmp_path) -> None:
    merged, split = catalogue.platform("debian12-merged"), catalogue.platform("debian11-split")
    env = boxes.build_env(merged)
    assert env["YK_APPS"] == f"isuumo={catalogue.lab('apparmor-cache').path / 'isuumo'}"
    assert set(env["YK_APP_PACKAGES"].split()) == {"golang-go", "golang-github-go-sql-driver-mysql-dev"}
    assert boxes.build_env(split)["YK_APPS"] == ""  # apparmor-cache does not run there
    key = boxes.input_key(merged)
    here = tmp_path / "a-checkout"
    here.mkdir()
    (here / "main.go").write_text("package main\n")
    assert boxes.input_key(replace(merged, apps=(model.App("isuumo", here, ("golang-go",)),))) != key  # another source, another box
    elsewhere = tmp_path / "another-checkout"  # the same source in another checkout: the same box
    elsewhere.mkdir()
    (elsewhere / "main.go").write_text("package main\n")
    moved = boxes.input_key(replace(merged, apps=(model.App("isuumo", here, ("golang-go",)),)))
    assert boxes.input_key(replace(merged, apps=(model.App("isuumo", elsewhere, ("golang-go",)),))) == moved


def test_two_boxes_to_build_are_built_at_once_and_one_is_left_to_lab_up(monkeypatch) -> None:
    import threading

    plats = [catalogue.platform("debian11-split"), catalogue.platform("debian12-merged")]
    started: list[str] = []
    gate = threading.Event()
    monkeypatch.setattr(boxes, "ensure", lambda p: (started.append(p.name), gate.wait(5)))
    monkeypatch.setattr(boxes, "state", lambda p: "stale")
    threads = boxes.build_ahead(plats + plats[:1])
    gate.set()
    for t in threads:
        t.join(5)
    assert sorted(started) == ["debian11-split", "debian12-merged"] and len(threads) == 2
    monkeypatch.setattr(boxes, "state", lambda p: "current" if p.name == "debian11-split" else "stale")
    assert boxes.build_ahead(plats) == []  # one box to build: lab.up builds it, nothing at once


def test_a_direct_boot_is_the_current_builds_and_only_when_it_has_a_kernel(monkeypatch, tmp_path) -> None:
    plat = catalogue.platform("debian12-merged")
    monkeypatch.setattr(boxes, "box_dir", lambda p: tmp_path)
    monkeypatch.setattr(boxes, "state", lambda p: "current")
    assert boxes.direct_boot(plat) is None  # a box built before boxes had boot files
    (tmp_path / "boot-0000").mkdir()  # an older build's
    (tmp_path / "boot-0000" / "vmlinux").write_bytes(b"\x7fELF")
    assert boxes.direct_boot(plat) is None
    mine = tmp_path / f"boot-{boxes.input_key(plat)}"
    mine.mkdir()
    (mine / "vmlinux").write_bytes(b"\x7fELF")
    (mine / "cmdline").write_text("root=UUID=1234 ro quiet\n")
    assert boxes.direct_boot(plat) == boxes.DirectBoot(mine / "vmlinux", mine / "initrd.img", "root=UUID=1234 ro quiet")
    monkeypatch.setattr(boxes, "state", lambda p: "stale")
    assert boxes.direct_boot(plat) is None
