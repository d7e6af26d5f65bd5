"""The room's portal in a real browser (Debian's chromium, driven by selenium through
chromium-driver), served by uvicorn on loopback over the fake backend: a team's page and the
facilitator's board as people click them. Screenshots go to .work/reports/portal-*.png."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from yarakashi import paths, roomstate, roster
from yarakashi.portal import web
from yarakashi.portal.backend import Fake

from ..browser import chromium

from .test_portal import ROSTER

SHOTS = paths.WORK / "reports"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[web.Portal, str, Fake]]:
    """The portal on a free loopback port, in a thread of this process."""
    fake = Fake()
    portal = web.make(roster.parse(ROSTER), roomstate.Room(tmp_path / "room.db"), fake)
    portal.jobs.check_gap = 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(portal.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield portal, f"http://127.0.0.1:{port}", fake
    server.should_exit = True
    thread.join(20)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium("1200,1400")
    yield driver
    driver.quit()


def until(driver: webdriver.Chrome, found, timeout: float = 15) -> None:
    """Reload until ``found(page source)`` holds (the page also refreshes itself while a job runs)."""
    deadline = time.monotonic() + timeout
    while not found(driver.page_source):
        assert time.monotonic() < deadline, driver.find_element(By.TAG_NAME, "body").text[-800:]
        time.sleep(0.3)
        driver.refresh()


def click(driver: webdriver.Chrome, by: str, what: str, timeout: float = 15) -> None:
    """Click a form's button and wait until the page it posts to has loaded: the next get() must
    not race the form's redirect. The old page is marked, and the wait is for a loaded page
    without the mark; asking while the page changes may fail in chromedriver ("Node with given
    id does not belong to the document", about 1 click in 10 here), so such a failure is asked again."""
    driver.execute_script("window.ykOld = true")
    try:
        driver.find_element(by, what).click()
    except WebDriverException as exc:
        if "does not belong to the document" not in str(exc):
            raise
    deadline = time.monotonic() + timeout
    while True:
        try:
            if driver.execute_script("return !window.ykOld && document.readyState === 'complete'"):
                return
        except WebDriverException:
            pass  # the page is changing
        assert time.monotonic() < deadline, f"clicking {what} loaded no new page"
        time.sleep(0.1)


def text_of(driver: webdriver.Chrome, element_id: str, timeout: float = 10) -> str:
    """The text of the element ``element_id`` once the page that has it is loaded."""
    deadline = time.monotonic() + timeout
    while not (found := driver.find_elements(By.ID, element_id)):
        assert time.monotonic() < deadline, f"no #{element_id}: " + driver.find_element(By.TAG_NAME, "body").text[-400:]
        time.sleep(0.2)
    return found[0].text


def test_a_team_and_the_facilitator_in_a_real_browser(served, browser) -> None:
    portal, base, fake = served
    team, board = f"{base}/t/{portal.secrets['a']}", f"{base}/a/{portal.admin}"
    browser.get(team)
    assert "サーバはまだ準備中です" in text_of(browser, "not-started")
    browser.get(board)
    click(browser, By.CSS_SELECTOR, 'tr[data-team="a"] form[action$="/start"] button')
    browser.get(team)
    until(browser, lambda html: 'id="clock"' in html)
    time.sleep(1.2)
    assert browser.find_element(By.ID, "clock").text.startswith(("19:", "20:")), "the clock counts down from the lab's minutes"
    click(browser, By.ID, "hint")
    until(browser, lambda html: "1/3: hint 1" in html)
    click(browser, By.ID, "check")
    until(browser, lambda html: 'class="FAIL verdict"' in html)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "確認できなかった: サーバ上のどのコマンドも起動する" in body and "本物の再起動のあと" in body
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "portal-team.png"))
    click(browser, By.ID, "reset")  # without the confirmation
    assert "確認してください" in text_of(browser, "message")
    browser.get(team)
    browser.find_element(By.ID, "reset-confirm").click()
    click(browser, By.ID, "reset")
    until(browser, lambda html: "やり直し" in html and 'data-kind="reset" data-state="done"' in html)
    fake.fixed = True
    click(browser, By.ID, "check")
    until(browser, lambda html: 'class="PASS verdict"' in html)
    browser.get(board)
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-team="a"]').text
    assert "PASS" in row and "rsync-dirlinks" in row, "the facilitator sees the lab and the verdict"
    browser.save_screenshot(str(SHOTS / "portal-board.png"))
    event = portal.room.events("a")[-1].id
    browser.get(f"{base}/t/{portal.secrets['b']}/events/{event}")
    assert "403" in browser.find_element(By.TAG_NAME, "body").text, "team b cannot read team a's check"
