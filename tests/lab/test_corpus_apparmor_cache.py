"""The apparmor-cache fix corpus (labs/apparmor-cache/fixes/): every script PASSes or FAILs lab.check as
its header says, with the check it names among the failed ones."""

from __future__ import annotations

from .corpus_case import assert_corpus

#: Not in ``./run test`` (CI) until its saved states make it fit CI's 90 minutes (issue 12):
#: ``./run test --corpus`` or ``./run lab.corpus <lab>`` runs it.
SUITE = "corpus"
#: For the lane scheduler (yarakashi.lanes): one VM, each script from the saved state.
TEST_MINUTES = 43  # 2,573 s measured beside the apparmor-cache story (2-3 guests)


def test_every_corpus_script_gets_the_verdict_its_header_states() -> None:
    assert_corpus("apparmor-cache")
