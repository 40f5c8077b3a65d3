"""The dashboard in real headless Chromium: a pending approval is shown, a click approves it, the incident resolves.

Needs Debian's chromium and chromium-driver (``apt-get install -y chromium chromium-driver``) and the
``selenium`` package (test extra); skips with that message where they are missing.
"""

from __future__ import annotations

from pathlib import Path

from tests.opsgraph.browser_support import browser, pending_approval, pytestmark, served  # noqa: F401 (fixture, marks)


def test_dashboard_approve_click_resolves_the_incident(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with pending_approval(tmp_path, "tok-ui") as (runtime, loop, row):
        with served(runtime, loop) as base:
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
        assert runtime.store.approval(row.id).decided_by == "alice"
        assert runtime.store.incident(row.incident_id).status == "resolved"
