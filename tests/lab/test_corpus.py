"""Every lab's fix corpus (labs/<lab>/fixes/) on a real VM: each script PASSes or FAILs lab.check
as its header says, with the checks it names among the failed ones. A lab with a corpus is a case
of this one test (id: the lab's name); it needs no module of its own."""

from __future__ import annotations

import json

import jsonschema
import pytest

from yarakashi import catalogue, corpus, verdict
from yarakashi.app import checks, target

from .conftest import CREATED

#: For the lane scheduler (yarakashi.lanes): each lab's case is a unit of its own, taking the
#: lab.toml ``corpus_minutes`` of its lab (one VM, each script from the saved state).
MINUTES_PER_LAB = "corpus_minutes"
#: Its VMs may run on another libvirt host (``./run test --host``): every check goes through libvirt
#: and SSH; a FAIL's offline evidence, which needs the disk here, says it could not be read.
ANY_HOST = True


@pytest.mark.parametrize("lab", [name for name in sorted(catalogue.labs()) if corpus.cases(name)])
def test_every_corpus_script_gets_the_verdict_its_header_states(lab: str) -> None:
    t = target.check_platform(target.resolve(lab, instance="test-corpus"))
    CREATED.add(target.machines(t)[0].domain)
    cases, reports = checks.run_corpus(t)
    print(corpus.summary(cases, reports))
    schema = json.loads(verdict.SCHEMA.read_text())
    for report in reports:
        jsonschema.validate(report.to_dict(), schema)  # what --json prints, from real VMs
    wrong = [f"{c.path.name}: {corpus.judge(c, r)}\n{r.text()}" for c, r in zip(cases, reports) if corpus.judge(c, r)]
    assert not wrong, "\n\n".join(wrong)
    assert len(reports) == len(cases)
