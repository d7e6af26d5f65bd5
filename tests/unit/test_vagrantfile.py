"""Rendered Vagrantfiles: one per lab x platform, valid for Vagrant, with the lab's steps."""

from __future__ import annotations

import shutil

import pytest

from yarakashi import YarakashiError, catalogue, vagrantfile

PAIRS = [(lab, plat) for lab in catalogue.labs().values() for plat in lab.platforms]


@pytest.mark.parametrize(("lab", "plat"), PAIRS, ids=[f"{lab.name}-{plat}" for lab, plat in PAIRS])
def test_rendered_vagrantfile_passes_vagrant_validate(lab, plat, tmp_path) -> None:
    if not shutil.which("vagrant"):
        pytest.fail("vagrant is not installed: run sudo ./run setup first")
    text = vagrantfile.render(lab, catalogue.platform(plat), "main", proxy_command="ip netns exec yarakashi nc %h %p")
    (tmp_path / "Vagrantfile").write_text(text)
    vagrantfile.validate(tmp_path)
    assert f'config.vm.box = "{catalogue.platform(plat).box}"' in text
    assert 'lv.driver = "qemu"' in text and 'lv.management_network_mode = "none"' in text
    assert 'config.ssh.proxy_command = "ip netns exec yarakashi nc %h %p"' in text
    for phase in lab.steps:
        assert f'config.vm.provision "{phase}", type: "shell", run: "never"' in text


def test_vagrant_validate_catches_a_bad_setting(tmp_path) -> None:
    lab = catalogue.lab("rsync-dirlinks")
    text = vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main")
    (tmp_path / "Vagrantfile").write_text(text.replace("lv.memory =", "lv.memoryz ="))
    with pytest.raises(YarakashiError, match="memoryz"):
        vagrantfile.validate(tmp_path)


def test_without_namespace_there_is_no_proxy_command() -> None:
    text = vagrantfile.render(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian11-split"), "main")
    assert "proxy_command" not in text


def test_a_trainees_script_replaces_the_phase(tmp_path) -> None:
    mine = tmp_path / "my-deploy.sh"
    mine.write_text("#!/bin/sh\n")
    lab = catalogue.lab("rsync-dirlinks")
    text = vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", {"fix": mine})
    assert f'path: "{mine}"' in text and str(lab.script("break")) in text
    with pytest.raises(YarakashiError, match="not found"):
        vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", {"fix": tmp_path / "nope.sh"})
    with pytest.raises(catalogue.UnknownName, match="unknown step 'explode' of lab rsync-dirlinks; valid steps: break, fix, verify"):
        vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", {"explode": mine})


def test_accelerator_choice_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("YARAKASHI_ACCEL", "kvm")
    assert vagrantfile.libvirt_driver() == "kvm"
    monkeypatch.setenv("YARAKASHI_ACCEL", "hyperv")
    with pytest.raises(catalogue.UnknownName, match="valid accelerators: kvm, tcg"):
        vagrantfile.libvirt_driver()
