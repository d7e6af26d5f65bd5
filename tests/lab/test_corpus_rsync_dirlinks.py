"""The rsync-dirlinks fix corpus (labs/rsync-dirlinks/fixes/): every script PASSes or FAILs lab.check as
its header says, with the check it names among the failed ones."""

from __future__ import annotations

from .corpus_case import assert_corpus

#: For the lane scheduler (yarakashi.lanes): one VM, each script from the saved state.
TEST_MINUTES = 9  # 516 s measured in a whole suite run (bench/results.md)


def test_every_corpus_script_gets_the_verdict_its_header_states() -> None:
    assert_corpus("rsync-dirlinks")
