"""The guest kernel's messages from the ring buffer and the journal: each record can lack a line."""

from __future__ import annotations

import json
import subprocess

from yarakashi import kernlog

KEY = "sysrq: Manual OOM execution"
KILL = "Out of memory: Killed process 731 (mariadbd) total-vm:1843200kB"


def journal(usec: int, message: object) -> str:
    return json.dumps({"MESSAGE": message, "_SOURCE_MONOTONIC_TIMESTAMP": str(usec)})


def output(ring: list[str], entries: list[str]) -> str:
    return "\n".join([*ring, "--- journal ---", *entries]) + "\n"


def test_a_line_only_the_ring_buffer_holds_is_found() -> None:
    # journald stalled by the memory pressure: the key's line never reached the journal
    lines = kernlog.parse(output([f"[  201.100000] {KEY}", f"[  201.900000] {KILL}"], [journal(201_900_000, KILL)]))
    assert [(line.text, line.sources) for line in lines] == [
        (KEY, (kernlog.RING,)), (KILL, (kernlog.RING, kernlog.JOURNAL))]


def test_a_line_the_ring_buffer_overwrote_is_found_in_the_journal() -> None:
    lines = kernlog.parse(output([f"[  900.000000] {KILL}"], [journal(1_500_000, "Linux version 6.1.0"),
                                                              journal(900_000_000, KILL)]))
    assert [line.text for line in lines] == ["Linux version 6.1.0", KILL]
    assert lines[0].at == 1.5 and lines[0].sources == (kernlog.JOURNAL,)


def test_the_same_text_at_two_moments_is_two_lines() -> None:
    lines = kernlog.parse(output([f"[   10.000000] {KILL}", f"[   70.000000] {KILL}"], []))
    assert [line.at for line in lines] == [10.0, 70.0]


def test_a_message_the_journal_keeps_as_bytes_and_noise_are_read() -> None:
    raw = list("apparmor=\"DENIED\" name=\"\xff\"".encode("latin-1"))
    lines = kernlog.parse(output(["not a kernel line", "[   1.5] short fraction"],
                                 [journal(5, raw), "-- No entries --", "{\"MESSAGE\": \"no time\"}"]))
    assert len(lines) == 1 and lines[0].text.startswith('apparmor="DENIED" name="') and lines[0].usec == 5


def test_no_journal_part_at_all_reads_the_ring_buffer() -> None:
    assert [line.text for line in kernlog.parse(f"[    0.000000] {KEY}\n")] == [KEY]


def test_read_runs_one_session_as_root() -> None:
    class Guest:
        commands: list[str] = []

        def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
            self.commands.append(command)
            return subprocess.CompletedProcess([], 0, output([f"[    3.000000] {KEY}"], []), "")

    guest = Guest()
    lines, raw = kernlog.read(guest)
    assert [line.text for line in lines] == [KEY] and KEY in raw
    assert guest.commands == [kernlog.COMMAND] and "sudo -n dmesg" in kernlog.COMMAND


def test_guest_side_count_takes_the_record_that_holds_more(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """checks.sh's yk_kernel_count and yk_kernel_lines, with dmesg and journalctl stubbed."""
    from yarakashi import paths

    (tmp_path / "dmesg").write_text(f"#!/bin/sh\necho '[  201.1] {KEY}'\necho '[  201.9] {KILL}'\n")
    (tmp_path / "journalctl").write_text(f"#!/bin/sh\necho 'Linux version 6.1.0'\necho '{KILL}'\n")
    for stub in ("dmesg", "journalctl"):
        (tmp_path / stub).chmod(0o755)
    script = (f". {paths.PROVISIONING / 'common' / 'checks.sh'}; yk_kernel_count 'sysrq: Manual'; "
              "yk_kernel_count 'Out of memory'; yk_kernel_count 'Linux version'; yk_kernel_count nothing; "
              "yk_kernel_lines | grep -c mariadbd")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, check=True)
    assert done.stdout.split() == ["1", "1", "1", "0", "2"]


def test_no_session_is_an_error_not_an_empty_log() -> None:
    """'No OOM kill' or 'no DENIED line' must never come from a guest that did not answer."""
    import pytest
    from yarakashi import YarakashiError

    class Stalled:
        def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
            return subprocess.CompletedProcess([], 255, "", "Connection timed out during banner exchange")

    with pytest.raises(YarakashiError, match="could not be read .exit 255.: Connection timed out"):
        kernlog.read(Stalled())


def kernel(usec: int, text: str) -> kernlog.Line:
    return kernlog.Line(usec, text, (kernlog.RING,))


def test_the_first_oom_kill_and_whose_it_was_whichever_came_first() -> None:
    """The kernel's OOM killer and the key race: the verdict is the first kill (mariadbd, the
    biggest process), and which killer made it is read from the order of the lines."""
    kernel_first = [kernel(100_000_000, KILL), kernel(104_000_000, KEY),
                    kernel(104_100_000, "Out of memory: Killed process 2210 (mariadbd)")]
    key_first = [kernel(100_000_000, KEY), kernel(100_050_000, KILL)]
    for lines, who in ((kernel_first, "the kernel"), (key_first, "Alt+SysRq+F"), (kernel_first[:1], "the kernel")):
        kills = kernlog.oom_kills(lines)
        assert kills[0][1] == "mariadbd" and kernlog.oom_killer(lines, kills[0][0]) == who
    assert [name for _, name in kernlog.oom_kills(kernel_first)] == ["mariadbd", "mariadbd"]
    assert kernlog.oom_kills([kernel(5, KEY), kernel(6, "oom-kill:constraint=CONSTRAINT_NONE")]) == []
