"""Running the tests: a lab's real-VM tests (``lab.test``, ``--repeat N``) and the whole suite
(``./run test``: unit tests, then every lab module in parallel lanes).

Interrupted, they pass the signal on to pytest, which removes its VMs, then sweep whatever
test VMs of this checkout are left.

>>> TEST_PREFIX
'test-'
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

from yarakashi import (YarakashiError, catalogue, checking, failures, hosts, junit, labnet, lanes, model, paths, providers,
                       vagrantfile, verdict)
from yarakashi.coreseconds import CoreSeconds
from yarakashi.machine import TEST_PREFIX, Machine, workdir_machines
from yarakashi.progress import say


def _sweep_test_vms(labs: list[str], exc: failures.Interrupted) -> None:
    """What an interrupted pytest run could not remove itself: this checkout's test VMs."""
    for name in labs:
        for m in workdir_machines(name):
            if m.instance.startswith(TEST_PREFIX) and m.exists():
                m.destroy()
                exc.cleaned.append(f"VM {m.domain}")
    if not any(c.startswith("VM") for c in exc.cleaned):
        exc.cleaned.append("nothing left by the tests (pytest removed its VMs)")


def lab_test(lab_name: str, pytest_args: str = "", platform: str | None = None, repeat: int = 1) -> int:
    """Run the lab's real-VM tests with pytest (``repeat`` times in a row); on an Ubuntu
    platform, :func:`observe` instead.

    The tests assert what was verified on the offline platforms. On a platform whose outcome
    is only expected from the packages' sources, each expected step is observed and compared
    with the verdict lab.toml states for it.
    """
    lab = catalogue.lab(lab_name)
    if platform and not catalogue.platform(model.choose("platform", platform, lab.platforms, f"for lab {lab.name}")).offline:
        return observe(lab, platform)
    module = paths.REPO / "tests" / "lab" / f"test_{lab.name.replace('-', '_')}.py"
    if not module.exists():
        raise YarakashiError(f"lab {lab.name} has no tests yet ({module.relative_to(paths.REPO)})")
    runs = []
    try:
        for n in range(1, repeat + 1):
            xml = paths.WORK / "reports" / f"{lab.name}-run-{n}.xml"
            xml.parent.mkdir(parents=True, exist_ok=True)
            start = time.monotonic()
            if repeat > 1:
                say(f"{lab.name}: run {n} of {repeat}")
            with failures.step(f"the tests of {lab.name}, run {n} of {repeat}"):
                code = pytest(["-s", "-v", str(module), f"--junitxml={xml}", *split_pytest_args(pytest_args)])
            runs.append((code, time.monotonic() - start, junit.outcomes([xml])))
    except failures.Interrupted as exc:
        _sweep_test_vms([lab.name], exc)
        raise
    if repeat > 1:
        for n, (code, took, counts) in enumerate(runs, 1):
            print(f"run {n}: exit {code}, {counts['passed']} passed, {counts['failed']} failed in {took:.0f} s")
        green = sum(1 for code, _, _ in runs if code == 0)
        print(f"{lab.name}: {green} of {repeat} runs green")
    return max(code for code, _, _ in runs)


#: The fix that changes nothing, to judge the state a step before the fix leaves.
NO_FIX = paths.PROVISIONING / "common" / "no-fix.sh"


def observe(lab: model.Lab, platform: str) -> int:
    """On a platform no test has verified: each step with an ``[expect.<platform>]`` line goes
    through ``lab.check`` (a step the check list runs before the fix is judged with no fix;
    any other step is the fix), from one saved state; observed next to expected per step.
    Exit 1 when a step's ``[verdict.<platform>]`` differs from what was observed."""
    expected = lab.expect.get(platform, {})
    steps = [s for s in expected if s in lab.steps]
    if not steps:
        raise YarakashiError(f"lab {lab.name} states no expectation for {platform} ([expect.{platform}] in lab.toml)")
    before = lab.check[:lab.check.index("fix")]
    fixes = [checking.Fix(NO_FIX if s in before else lab.script(s, platform)) for s in steps]
    reports = checking.check(Machine(lab, catalogue.platform(platform), "observe"), fixes)
    print(observed_table(lab, platform, steps, reports))
    return int(bool(mismatches(lab, platform, steps, reports)))


def mismatches(lab: model.Lab, platform: str, steps: list[str], reports: list[verdict.Report]) -> list[str]:
    """The steps whose stated ``[verdict.<platform>]`` differs from what was observed."""
    stated = lab.verdict.get(platform, {})
    return [s for s, r in zip(steps, reports) if s in stated and stated[s] != ("PASS" if r.passed else "FAIL")]


def observed_table(lab: model.Lab, platform: str, steps: list[str], reports: list[verdict.Report]) -> str:
    """Each report, then a line per step: expected verdict, observed, and the expectation's words.

    >>> r = verdict.Report("lab.check", "x", [("v", [verdict.Check("x", "1", "2", False)])])
    >>> print(observed_table(catalogue.lab("rsync-dirlinks"), "ubuntu-20.04", ["break"], [r]).splitlines()[-2])
    break  FAIL      FAIL      as expected  broken: 20.04 has /lib -> usr/lib (merged /usr), as the Debian 12 stand-in
    """
    stated, words = lab.verdict.get(platform, {}), lab.expect.get(platform, {})
    width = max(len(s) for s in steps)
    rows = [r.text() + "\n" for r in reports]
    rows.append(f"{lab.name} on {platform} ({model.EVIDENCE[catalogue.platform(platform).evidence]}):")
    rows.append(f"{'STEP':<{width}}  EXPECTED  OBSERVED  {'':<11}  EXPECTATION")
    for step, report in zip(steps, reports):
        got = "PASS" if report.passed else "FAIL"
        want = stated.get(step, "-")
        match = "not stated" if want == "-" else "as expected" if want == got else "MISMATCH"
        rows.append(f"{step:<{width}}  {want:<8}  {got:<8}  {match:<11}  {words[step]}")
    wrong = mismatches(lab, platform, steps, reports)
    rows.append(f"{len(wrong)} mismatch(es) of {sum(1 for s in steps if s in stated)} stated verdicts")
    return "\n".join(rows)


#: Seconds ``./run test`` may take in all before it stops its lanes (CI's limit is 90 min,
#: and the host's setup and box builds come before): past it, say what did not run, exit 124.
DEADLINE = 82 * 60


def test_suite(unit_only: bool, lane_count: int, extra: list[str], deadline: float = DEADLINE,
               others: list[hosts.Host] | None = None) -> int:
    """The whole suite: doctests and unit tests, then the lab tests in parallel lanes, within
    ``deadline`` seconds (every lab's story and fix corpus, the workshop walkthrough, ...);
    ``others``: libvirt hosts that take lanes too (``--host``).

    Ends with a ``failed test: MODULE::TEST: first message line`` line per failure, then one
    closing line that sums every pytest run, e.g. ``total: 63 passed, 0 failed``.
    """
    until = time.monotonic() + deadline
    xml = paths.WORK / "reports" / "unit.xml"
    xml.parent.mkdir(parents=True, exist_ok=True)
    code = pytest(["yarakashi", "tests/unit", f"--junitxml={xml}", *extra])
    totals = junit.outcomes([xml])
    if not unit_only:
        began = time.monotonic()
        try:
            with failures.step("the real-VM tests (lanes)"), CoreSeconds(vagrantfile.checkout_prefix()) as spent:
                lab_code, lab_totals = lanes.run(paths.REPO / "tests" / "lab", lane_count, extra, until, others or [])
        except failures.Interrupted as exc:
            _sweep_test_vms(list(catalogue.labs()), exc)
            raise
        say(f"suite wall: {time.monotonic() - began:.0f} s (the lanes)")
        say(spent.line() + (" (the guests of this machine only)" if others else ""))
        if not providers.get("libvirt").vms(providers.GUEST_PREFIX):
            labnet.teardown()
        totals = {k: totals[k] + lab_totals[k] for k in totals}
        code = junit.worst([code, lab_code], sum(totals.values()))
    merged = junit.merge([xml, *sorted(xml.parent.glob("lane-*.xml"))] if not unit_only else [xml], xml.parent / "suite.xml")
    say(f"JUnit report of the whole run: {merged}")
    if code == 124:
        say(f"the whole run passed its deadline of {deadline:.0f} s (--deadline): stopped, VMs removed")
    for line in junit.failed([merged]):
        print(f"failed test: {line}", flush=True)
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped", flush=True)
    return code


def pytest(args: list[str]) -> int:
    """Run pytest from the project's environment; returns its exit code."""
    cmd = [sys.executable, "-m", "pytest", *args]
    say("running " + " ".join(cmd[2:]))
    env = {**os.environ, "YARAKASHI_LAB_TESTS": "1"}  # the real-VM tests run only when asked (tests/conftest.py)
    return failures.wait_children([subprocess.Popen(cmd, cwd=paths.REPO, env=env)])[0]


def split_pytest_args(text: str) -> list[str]:
    """``--pytest "..."`` as a shell would split it (quotes kept together), else a clear error.

    >>> split_pytest_args("-k 'rsync or memory' -x")
    ['-k', 'rsync or memory', '-x']
    """
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise YarakashiError(f"--pytest {text!r}: {exc} (quote as in a shell)") from None
