"""yarakashi: a reproducible VM lab of real ops failures (やらかし).

The package is split one concept per module:

- ``model``      what a lab and a platform are (the dataclasses lab.toml and platforms.toml are read into)
- ``schema``     reading a TOML table as a dataclass: unknown keys and wrong types are one line each
- ``catalogue``  which labs (``labs/*/lab.toml``) and platforms (``platforms.toml``) there are; imports no operation code
- ``app``        the operations (up, start, hint, reset, check, retest, status, timeline, destroy) over a target
                 resolved once, returning data; the command line (``cli``, ``tasks.py``) and a portal call them
- ``calls``      who follows an operation: its progress lines to a callback, and its cancel
- ``portal``     the workshop room's web door (``room.open``): a team's page, the facilitator's board, the job queue
- ``roster``     a workshop room's teams and labs, read from a TOML file; ``roomstate``: its state in SQLite
- ``boxes``      offline Vagrant boxes built from Debian's archive, cached by input hash
- ``providers``  one module per hypervisor (libvirt, VirtualBox): every act on a VM's power, console, disk, snapshots
- ``hosts``      where a lab VM runs: this machine, or another libvirt host by its URI (``lab.start --host``)
- ``labnet``     libvirtd, its storage pool and its network, in a network namespace of our own
- ``vagrantfile`` rendering ``Vagrantfile.j2`` per lab x platform, ``vagrant validate``
- ``vagrantdir`` a lab VM's names and Vagrant work directory (Vagrantfile, SSH settings, state)
- ``machine``    one lab VM's life through its provider (up, reboot, power cycle, destroy); its guest, steps and states
- ``guest``      reaching a host over SSH: bounded sessions, reboot-and-wait, testinfra, a pinned shell
- ``verdict``    the one result model: named checks (expected, observed, passed, reason), table and JSON
- ``checking``   ``lab.check``: fixes judged through the lab's check list, from the saved state before the fix
- ``states``     a VM's saved running states, and what decides whether a kept one still stands (its key)
- ``kernlog``    the guest kernel's messages from its ring buffer and the journal, OOM kills found in them
- ``evidence``   what a FAIL leaves: journals, kernel messages, the serial console, a stopped disk's files
- ``capacity``   how many lab guests the host runs at once: a place is taken before a VM is made
- ``workshop``   ``lab.start``/``hint``/``reset``: a trainee's lab at the team's moment, a clock, hints
- ``corpus``     a lab's fix corpus (``labs/<lab>/fixes/``): each script's stated verdict, and judging it
- ``pytest_plugin`` the ``yarakashi_check`` fixture for other projects' test suites (``pytest11``)
- ``retest``     the organisers' reboot test, for a lab VM or a team's own server
- ``timeline``   the incident as a picture: a boot's moments from the journal beside the post's lines
- ``cli``        the command line's side: names and numbers read, results as text, one line on failure
- ``console``    the ``yarakashi`` command: the tasks of ``tasks.py`` for an installed package
- ``suite``      running lab tests and the whole suite; ``lanes``: its real-VM tests in parallel lanes
- ``coreseconds`` the CPU time the lab guests' QEMU processes and the host side spend
- ``failures``   how a task ends when a tool fails or the user interrupts it: one line
- ``disk``       reading a stopped guest's disk from the host (journal replayed first)
- ``steps``      a lab's scripted steps run over SSH, and how each ended (exit status, bound, failed line)
- ``progress``   long waits that say what they wait for and how long is left
- ``teelog``     streaming Vagrant's output to the terminal and a log file at once
- ``paths``      where the checkout, the work directories, the boxes and the caches are
"""

__version__ = "0.1.0"


class YarakashiError(Exception):
    """An error for the user: the message says what is wrong and what is valid.

    ``exit_code``: 2 for bad input (this class), 1 for a failure while working (subclasses).
    """

    exit_code = 2
