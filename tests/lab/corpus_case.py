"""Shared by the corpus test modules: run a lab's whole fix corpus through ``lab.check`` on a
real VM (one VM, each script from the saved state) and assert each verdict and reason."""

from __future__ import annotations

import json

import jsonschema

from yarakashi import catalogue, commands, corpus, verdict
from yarakashi.machine import Machine

from .conftest import CREATED


def assert_corpus(lab: str) -> None:
    plat = commands.check_platform(catalogue.lab(lab))
    instance = "test-corpus"
    CREATED.add(Machine(catalogue.lab(lab), catalogue.platform(plat), instance).domain)
    cases, reports = commands.corpus(lab, plat, instance=instance)
    print(corpus.summary(cases, reports))
    schema = json.loads(verdict.SCHEMA.read_text())
    for report in reports:
        jsonschema.validate(report.to_dict(), schema)  # what --json prints, from real VMs
    wrong = {c.path.name: corpus.judge(c, r) for c, r in zip(cases, reports) if corpus.judge(c, r)}
    assert not wrong, "\n\n".join(f"{name}: {w}\n{r.text()}" for (name, w), r in
                                   zip(wrong.items(), [r for c, r in zip(cases, reports) if c.path.name in wrong]))
    assert len(reports) == len(cases)
