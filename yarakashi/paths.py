"""Where things live: the repository, state (boxes, keys) and caches.

>>> from yarakashi import paths
>>> (paths.REPO / "labs").is_dir()
True
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: A short id of this checkout, in the name of every VM it starts (see vagrantfile.prefix).
CHECKOUT_ID = hashlib.sha256(str(REPO).encode()).hexdigest()[:6]
LABS = REPO / "labs"
PROVISIONING = REPO / "provisioning"
#: Rendered Vagrantfiles and logs, one directory per lab VM (git-ignored).
WORK = Path(os.environ.get("YARAKASHI_WORK", REPO / ".work"))
#: Built boxes and their input stamps; survives checkouts so CI can reuse boxes.
STATE = Path(os.environ.get("YARAKASHI_STATE", "/var/lib/yarakashi"))
#: Downloaded .debs, shared by every box build.
CACHE = Path(os.environ.get("YARAKASHI_CACHE", "/var/cache/yarakashi"))
