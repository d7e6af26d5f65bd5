"""yarakashi: a reproducible VM lab of real ops failures (やらかし).

The package is split one concept per module:

- ``catalogue``  labs (``labs/*/lab.toml``) and platforms (``platforms.toml``) as data
- ``boxes``      offline Vagrant boxes built from Debian's archive, cached by input hash
- ``labnet``     the network namespace that holds libvirtd and the lab network
- ``vagrantfile`` rendering ``Vagrantfile.j2`` per lab x platform, ``vagrant validate``
- ``machine``    one lab VM driven through python-vagrant (up, steps, reboot, destroy)
- ``guest``      reaching a guest: testinfra hosts, a shell pinned open across a break
- ``progress``   long waits that say what they wait for and how long is left
- ``teelog``     streaming Vagrant's output to the terminal and a log file at once
- ``failures``   how a task ends when a tool fails or the user interrupts it: one line
- ``disk``       reading a stopped guest's disk from the host (journal replayed first)
"""

__version__ = "0.1.0"


class YarakashiError(Exception):
    """An error for the user: the message says what is wrong and what is valid.

    ``exit_code``: 2 for bad input (this class), 1 for a failure while working (subclasses).
    """

    exit_code = 2
