"""The apparmor-cache fix corpus (labs/apparmor-cache/fixes/): every script PASSes or FAILs lab.check as
its header says, with the check it names among the failed ones."""

from __future__ import annotations

from .corpus_case import assert_corpus

#: For the lane scheduler (yarakashi.lanes): one VM, each script from the saved state.
TEST_MINUTES = 21  # 1,260 s measured in a whole suite run (bench/results.md)


def test_every_corpus_script_gets_the_verdict_its_header_states() -> None:
    assert_corpus("apparmor-cache")
