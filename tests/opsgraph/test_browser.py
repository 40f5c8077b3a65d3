"""The dashboard in real headless Chromium: a pending approval is shown, a click approves it, the incident resolves.

Needs Debian's chromium and chromium-driver (``apt-get install -y chromium chromium-driver``) and the
``selenium`` package (test extra); skips with that message where they are missing.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from opsgraph.runtime import Runtime
from opsgraph.server.app import create_app
from opsgraph.settings import Settings
from tests.stubs.fleet import pending_loop
from tests.stubs.servers import serve_app

CHROMIUM, DRIVER = "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver && pip install -e '.[test]'"
webdriver = pytest.importorskip("selenium.webdriver", reason=f"selenium missing: {INSTALL}")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                 reason=f"headless Chromium not found at {CHROMIUM} / {DRIVER}: {INSTALL}")]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,1000")


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_approve_click_resolves_the_incident(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    settings = Settings.from_env(tmp_path / "home").model_copy(update={"memory_enabled": False})
    with Runtime(settings) as runtime:
        (settings.home / "tokens.yaml").write_text(yaml.safe_dump({"tok-ui": {"user": "alice", "roles": ["approver"]}}))
        loop = pending_loop(runtime, tmp_path)
        row = runtime.store.approvals(status="pending")[0]
        loop.interval_s = 0.2
        worker = threading.Thread(target=loop.run, daemon=True)  # the loop keeps running, as under `opsgraph run`
        with serve_app(create_app(settings, runtime=runtime, llm=None)) as base:
            worker.start()
            try:
                browser.get(base + "/")
                browser.execute_script("localStorage.setItem('opsgraph_token', 'tok-ui')")
                browser.get(base + "/")
                wait = WebDriverWait(browser, 20)
                card = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f"[data-approval='{row.id}']")))
                assert "retrain_model" in card.text and row.rule_id in card.text
                incident = browser.find_element(By.CSS_SELECTOR, f"#incidents [data-incident='{row.incident_id}']")
                assert "awaiting_approval" in incident.text
                health = browser.find_element(By.CSS_SELECTOR, "[data-service='fraud-api']")
                assert "degraded" in health.text and health.find_elements(By.CSS_SELECTOR, "svg polyline")
                card.find_element(By.CSS_SELECTOR, "button.approve").click()
                wait.until(ec.text_to_be_present_in_element(
                    (By.CSS_SELECTOR, f"#closed [data-incident='{row.incident_id}'] .status"), "resolved"))
                assert not browser.find_elements(By.CSS_SELECTOR, f"[data-approval='{row.id}']")
            finally:
                loop.stop.set()
                worker.join(timeout=20)
        assert runtime.store.approval(row.id).decided_by == "alice"
        assert runtime.store.incident(row.incident_id).status == "resolved"
