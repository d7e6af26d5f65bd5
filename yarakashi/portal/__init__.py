"""The workshop room's portal: each team's page (brief, clock, hints, reset, check) and the
facilitator's board, served over HTTP from one process (``invoke room.open ROSTER``).

- :mod:`~yarakashi.portal.backend`: what a team's action does to its lab (the application
  layer, :mod:`yarakashi.app`); tests give a fake one.
- :mod:`~yarakashi.portal.jobs`: the actions as jobs: one at a time per team, checks queued
  across the room, each recorded in the room's state (:mod:`yarakashi.roomstate`).
- :mod:`~yarakashi.portal.words`: what trainees read, in English and Japanese: checks named by
  what was observed, never by the cause or the fix.
- :mod:`~yarakashi.portal.views`: what the pages show, as data; :mod:`~yarakashi.portal.markdown`,
  the briefs' little Markdown as HTML.
- :mod:`~yarakashi.portal.web`: the pages and their JSON, a Starlette application;
  :mod:`~yarakashi.portal.serve`, ``room.open`` serving it with uvicorn.
"""
