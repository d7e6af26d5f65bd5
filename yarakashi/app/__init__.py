"""The lab's operations, one function each, for every front door: the invoke tasks
(``tasks.py``) and a web portal call the same functions.

Each operation takes a :class:`~yarakashi.app.target.Target`, resolved once at the door
(:func:`~yarakashi.app.target.resolve`), and returns data: reports
(:class:`~yarakashi.verdict.Report`), rows, hint text. None prints. Its progress lines go to the
caller that follows it (:func:`yarakashi.calls.following`), which may also cancel it; an
operation that changes a VM holds that VM's lock (:func:`~yarakashi.app.target.hold`), so
two callers never act on one VM at once.

- :mod:`~yarakashi.app.vms`: up, run a step, reboot, SysRq, status, destroy.
- :mod:`~yarakashi.app.checks`: check a fix or the trainee's own VM, the fix corpus, the retest.
- :mod:`~yarakashi.app.room`: the workshop: the catalogue as trainees see it, start, hint,
  reset, timeline.

>>> from yarakashi.app import target
>>> target.resolve("db-stops-after-reboot").lab.name
'apparmor-cache'
"""
