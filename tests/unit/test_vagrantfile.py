"""Rendered Vagrantfiles: every lab x platform x provider is valid for Vagrant, with its steps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from yarakashi import YarakashiError, boxes, catalogue, hosts, model, providers, vagrantfile

CASES = [
    (lab, plat, provider)
    for lab in catalogue.labs().values()
    for plat in lab.platforms
    for provider in catalogue.platform(plat).providers
]
PROXY = "ip netns exec yarakashi nc %h %p"


def render_and_validate(lab, plat, provider, tmp_path: Path, env: dict[str, str], text_edit=lambda t: t) -> str:
    if not shutil.which("vagrant"):
        pytest.fail("vagrant is not installed: run ./run setup first")
    proxy = PROXY if provider == "libvirt" and catalogue.platform(plat).offline else ""
    text = vagrantfile.render(lab, catalogue.platform(plat), "main", proxy_command=proxy, provider_name=provider)
    (tmp_path / "Vagrantfile").write_text(text_edit(text))
    vagrantfile.validate(tmp_path, provider, env)
    return text


@pytest.mark.parametrize(("lab", "plat", "provider"), CASES, ids=[f"{lb.name}-{p}-{pr}" for lb, p, pr in CASES])
def test_rendered_vagrantfile_passes_vagrant_validate(lab, plat, provider, tmp_path, vboxmanage) -> None:
    platform = catalogue.platform(plat)
    text = render_and_validate(lab, plat, provider, tmp_path, vboxmanage)
    assert f'config.vm.box = "{platform.box_for(provider)}"' in text
    assert 'lv.driver = "qemu"' in text
    for other in platform.providers:
        assert f'override.vm.box = "{platform.box_for(other)}"' in text
    assert ('lv.management_network_mode = "none"' in text) == platform.offline
    assert ('config.vm.provision "mark-guest"' in text) == (not platform.offline)
    assert ("proxy_command" in text) == (provider == "libvirt" and platform.offline)
    for step, script in lab.steps_for(plat).items():
        assert f'config.vm.provision "{step}", type: "shell", run: "never"' in text
        guest_script = vagrantfile.GUEST_LAB_DIR + "/" + script.removeprefix("provisioning/")
        assert f'args: ["{step}", "{guest_script}", "0"]' in text


@pytest.mark.parametrize("provider", ["libvirt", "virtualbox"])
def test_vagrant_validate_catches_a_bad_setting(provider, tmp_path, vboxmanage) -> None:
    setting = {"libvirt": "lv.memory", "virtualbox": "vb.memory"}[provider]
    with pytest.raises(YarakashiError, match="memoryz"):
        render_and_validate(catalogue.lab("rsync-dirlinks"), "ubuntu-20.04", provider, tmp_path, vboxmanage,
                            lambda t: t.replace(f"{setting} =", f"{setting}z ="))


def test_without_namespace_there_is_no_proxy_command() -> None:
    text = vagrantfile.render(catalogue.lab("rsync-dirlinks"), catalogue.platform("debian11-split"), "main")
    assert "proxy_command" not in text


def test_ubuntu_gets_its_own_steps_where_the_lab_says_so() -> None:
    lab = catalogue.lab("apparmor-cache")
    text = vagrantfile.render(lab, catalogue.platform("ubuntu-18.04"), "main", provider_name="virtualbox")
    assert "/home/vagrant/yarakashi/apparmor-cache/ubuntu/install-mysql.sh" in text
    assert "/home/vagrant/yarakashi/apparmor-cache/fix.sh" in text  # not overridden: the common one


def test_a_trainees_script_replaces_the_phase(tmp_path) -> None:
    mine = tmp_path / "my-deploy.sh"
    mine.write_text("#!/bin/sh\n")
    lab = catalogue.lab("rsync-dirlinks")
    text = vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", {"fix": mine})
    assert f'config.vm.provision "upload-fix", type: "file", run: "never",\n    source: "{mine}", destination: "/home/vagrant/yarakashi-steps/fix"' in text
    assert 'args: ["fix", "/home/vagrant/yarakashi-steps/fix", "0"]' in text
    assert 'args: ["break", "/home/vagrant/yarakashi/rsync-dirlinks/deploy-naive.sh", "0"]' in text
    with pytest.raises(YarakashiError, match="not found"):
        vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", {"fix": tmp_path / "nope.sh"})
    with pytest.raises(model.UnknownName, match="unknown step 'explode' of lab rsync-dirlinks; valid steps: break, fix, prepare, verify"):
        vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", {"explode": mine})


def test_provider_and_accelerator_choices_are_checked(monkeypatch) -> None:
    monkeypatch.setenv("YARAKASHI_ACCEL", "kvm")
    assert vagrantfile.libvirt_driver() == "kvm"
    monkeypatch.setenv("YARAKASHI_ACCEL", "hyperv")
    with pytest.raises(model.UnknownName, match="valid accelerators: kvm, tcg"):
        vagrantfile.libvirt_driver()
    monkeypatch.delenv("YARAKASHI_PROVIDER", raising=False)
    monkeypatch.setattr(shutil, "which", lambda tool: tool == "virsh")
    assert providers.select(catalogue.platform("ubuntu-18.04")) == "libvirt", "detected: no VBoxManage"
    monkeypatch.setattr(shutil, "which", lambda tool: True)
    assert providers.select(catalogue.platform("ubuntu-18.04")) == "virtualbox", "both: the platform's first"
    monkeypatch.setenv("YARAKASHI_PROVIDER", "virtualbox")
    assert providers.select(catalogue.platform("ubuntu-18.04")) == "virtualbox"
    with pytest.raises(model.UnknownName, match="unknown provider 'virtualbox' for platform debian12-merged"):
        providers.select(catalogue.platform("debian12-merged"))


def test_a_bounded_step_gets_its_bound() -> None:
    lab = catalogue.lab("rsync-dirlinks")
    text = vagrantfile.render(lab, catalogue.platform("debian12-merged"), "main", bounds={"fix": 300})
    assert 'args: ["fix", "/home/vagrant/yarakashi/rsync-dirlinks/deploy-fixed.sh", "300"]' in text
    assert 'args: ["break", "/home/vagrant/yarakashi/rsync-dirlinks/deploy-naive.sh", "0"]' in text


def test_a_local_vm_of_a_built_box_boots_its_kernel_directly_and_a_remote_one_through_grub(monkeypatch, tmp_path) -> None:
    boot = boxes.DirectBoot(tmp_path / "vmlinux", tmp_path / "initrd.img", "root=UUID=1234 ro quiet")
    monkeypatch.setattr(boxes, "direct_boot", lambda plat: boot)
    lab, plat = catalogue.lab("apparmor-cache"), catalogue.platform("debian12-merged")
    text = vagrantfile.render(lab, plat, "main")
    assert text.count(f'lv.kernel = "{boot.kernel}"') == 2  # s2 and s1
    assert f'lv.initrd = "{boot.initrd}"' in text and 'lv.cmd_line = "root=UUID=1234 ro quiet"' in text
    remote = hosts.Host("qemu+ssh://root@h2/system")
    assert "lv.kernel" not in vagrantfile.render(lab, plat, "main", host=remote)
