"""Core-seconds: a guest's QEMU process is found by its domain name and its CPU time counted."""

from __future__ import annotations

import subprocess
import sys
import time

from yarakashi.coreseconds import CoreSeconds


def test_a_busy_qemu_of_this_checkout_counts_and_one_of_another_does_not() -> None:
    spin = "import time\nwhile time.process_time() < 1.5: pass"  # 1.5 s of CPU, however busy the host
    with CoreSeconds("yk-unit-", every=0.2) as spent:
        # A Python named like QEMU (argv[0]) with a domain name among its arguments.
        ours = subprocess.Popen(["bash", "-c", 'exec -a qemu-system-x86_64 "$0" -c "$1" -name guest=yk-unit-a', sys.executable, spin])
        other = subprocess.Popen(["bash", "-c", 'exec -a qemu-system-x86_64 "$0" -c "$1" -name guest=yk-else-a', sys.executable, spin])
        ours.wait(), other.wait()
        time.sleep(0.1)
    assert 0.5 < spent.guests() < 2.5  # one process's 1.5 s (less what ran after the last look), not both
    assert spent.host() >= 0
    assert spent.line().startswith("suite core-seconds: ")
