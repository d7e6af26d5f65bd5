"""Where things live: the repository, state (boxes, keys) and caches.

>>> from yarakashi import paths
>>> (paths.REPO / "labs").is_dir()
True
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

#: The checkout: labs, provisioning, Vagrantfile.j2. ``YARAKASHI_HOME`` names it when the package
#: is installed elsewhere (``pip install`` without ``-e``).
REPO = Path(os.environ.get("YARAKASHI_HOME") or Path(__file__).resolve().parent.parent).resolve()
#: A short id of this checkout, in the name of every VM it starts (see vagrantfile.prefix);
#: ``YARAKASHI_CHECKOUT_ID`` sets another (tests use it to keep their VMs apart).
CHECKOUT_ID = os.environ.get("YARAKASHI_CHECKOUT_ID") or hashlib.sha256(str(REPO).encode()).hexdigest()[:6]
if not re.fullmatch(r"[a-z0-9]{1,12}", CHECKOUT_ID):
    raise SystemExit(f"error: YARAKASHI_CHECKOUT_ID must be 1-12 lower-case letters or digits, not {CHECKOUT_ID!r}")
LABS = REPO / "labs"
PROVISIONING = REPO / "provisioning"
#: Rendered Vagrantfiles and logs, one directory per lab VM (git-ignored).
WORK = Path(os.environ.get("YARAKASHI_WORK", REPO / ".work"))
#: Built boxes and their input stamps; survives checkouts so CI can reuse boxes.
STATE = Path(os.environ.get("YARAKASHI_STATE", "/var/lib/yarakashi"))
#: Downloaded .debs, shared by every box build.
CACHE = Path(os.environ.get("YARAKASHI_CACHE", "/var/cache/yarakashi"))


def vagrant_home() -> Path:
    """Vagrant's data directory (boxes live there): ``VAGRANT_HOME``, else ``~/.vagrant.d``."""
    return Path(os.environ.get("VAGRANT_HOME", Path.home() / ".vagrant.d"))
