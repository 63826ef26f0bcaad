"""A headless chromium driven by selenium, with the waits and look-ups the UI tests use."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 30


class Browser:
    """One chromium window on one manager's UI."""

    def __init__(self, chromedriver: str, manager_url: str, artifacts: Path):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
        ):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        self.url = manager_url
        self.artifacts = artifacts
        self.resize(1280, 800)

    def open(self, page: str, manager_url: str | None = None) -> None:
        """Load the UI at `#page` (`/deployments/x`) as a fresh page load, from this
        browser's manager unless another one's URL is given."""
        # Leaving the page first: loading the address the tab shows would only scroll.
        self.driver.get("about:blank")
        self.driver.get(f"{manager_url or self.url}/ui/#{page}")

    def find(self, css: str) -> WebElement:
        """The element `css` selects once it is displayed."""
        return self.wait_for(lambda: self._displayed(css), f"{css} to be displayed")

    def find_all(self, css: str) -> list[WebElement]:
        items = self.driver.find_elements(By.CSS_SELECTOR, css)
        return [item for item in items if item.is_displayed()]

    def _displayed(self, css: str) -> WebElement | None:
        items = self.find_all(css)
        return items[0] if items else None

    def button(self, name: str) -> WebElement:
        """The displayed button whose accessible name (aria-label, else text) is `name`."""

        def named() -> WebElement | None:
            for item in self.find_all("button"):
                if (item.get_attribute("aria-label") or item.text.strip()) == name:
                    return item
            return None

        return self.wait_for(named, f"a button named {name!r}")

    def confirm(self) -> str:
        """Accept the confirmation dialog; the text it asked."""
        dialog = self.find("dialog#confirm")
        text = dialog.find_element(By.ID, "confirm-text").text
        dialog.find_element(By.ID, "confirm-ok").click()
        return text

    def text(self, css: str) -> str:
        return self.find(css).text

    def wait_for(self, condition, what: str, seconds: float = WAIT_SECONDS):
        """Wait until `condition()` is truthy; its value. Elements the page replaced
        while the condition looked at them count as not yet. A failure says what the
        page showed instead, and which of its requests had answered."""
        waiting = WebDriverWait(
            self.driver, seconds, ignored_exceptions=(StaleElementReferenceException,)
        )
        try:
            return waiting.until(lambda _driver: condition())
        except TimeoutException:
            shown = self.driver.execute_script("return document.body.innerText")
            # Only requests that ended are listed: one missing here never answered.
            answered = self.driver.execute_script(
                "return performance.getEntriesByType('resource')"
                ".map((entry) => `${Math.round(entry.duration)} ms ${entry.name}`)"
            )
            raise AssertionError(
                f"waited {seconds} s for {what}; the page at {self.hash()} shows:\n{shown}\n"
                "requests that answered:\n" + "\n".join(answered)
            ) from None

    def wait_for_text(self, css: str, expected: str) -> None:
        self.wait_for(
            lambda: any(item.text == expected for item in self.find_all(css)),
            f"{css} to read {expected!r}",
        )

    def hash(self) -> str:
        return self.driver.execute_script("return location.hash")

    def resize(self, width: int, height: int) -> None:
        """Show pages in a viewport of exactly `width`×`height`, like a phone when narrow."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700},
        )

    def screenshot(self, name: str) -> Path:
        """Save the window as artifacts/ui/<name>.png."""
        path = self.artifacts / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def script_errors(self) -> list[str]:
        """Errors the pages' scripts raised (not failed requests) since the last call."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["source"] == "javascript" or "Uncaught" in entry["message"]
        ]

    def quit(self) -> None:
        self.driver.quit()
