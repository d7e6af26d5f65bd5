"""A team member's or the facilitator's browser in a network namespace of the room test: Debian's
chromium driven by selenium, run inside the namespace (``ip netns exec NS python -m
tests.lab.room_browser STEPS``), so that the page is reached the way a team reaches it, from
another network. It does the steps, then prints the page's text.

Steps (JSON): ``["get", URL]``, ``["click", CSS]``, ``["tick", CSS]`` (a checkbox),
``["until", TEXT, SECONDS]`` (reloading until the page holds TEXT), ``["shot", PATH]``.

    ip netns exec ykt-a python -m tests.lab.room_browser '[["get", "http://10.251.0.1:8080/t/..."], ["click", "#hint"]]'
"""

from __future__ import annotations

import json
import sys

from selenium.webdriver.common.by import By

from tests.browser import chromium
from tests.unit.test_portal_browser import click, until


def main(steps: list[list]) -> None:
    driver = chromium("1200,1600")
    try:
        for step in steps:
            if step[0] == "get":
                driver.get(step[1])
            elif step[0] == "click":
                click(driver, By.CSS_SELECTOR, step[1])
            elif step[0] == "tick":
                driver.find_element(By.CSS_SELECTOR, step[1]).click()
            elif step[0] == "until":
                until(driver, lambda html, text=step[1]: text in html, step[2])
            elif step[0] == "shot":
                driver.save_screenshot(step[1])
        print(driver.find_element(By.TAG_NAME, "body").text)
    finally:
        driver.quit()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
