"""The tests' browser: Debian's chromium, headless, driven by selenium through chromium-driver
(Playwright's own browser download is not reachable here; the system chromium is).

    driver = chromium("1200,1400")   # a window of that size, Japanese preferred; driver.quit() after
"""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(size: str = "1200,1400") -> webdriver.Chrome:
    """A headless chromium of ``size`` (width,height) that prefers Japanese pages."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={size}", "--lang=ja"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.implicitly_wait(0)
    return driver
