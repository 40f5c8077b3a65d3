"""The web chat (/chat) in real headless Chromium: "what is wrong?" gets a cited answer; approving from the chat
records the decision, the running loop resumes the incident, and the chat shows it resolved.

Needs Debian's chromium and chromium-driver (``apt-get install -y chromium chromium-driver``) and the
``selenium`` package (test extra); skips with that message where they are missing.
"""

from __future__ import annotations

from pathlib import Path

from agents.chat import CITATION
from tests.opsgraph.browser_support import browser, pending_approval, pytestmark, served  # noqa: F401 (fixture, marks)


def test_chat_answers_with_citations_and_an_approval_resolves_the_incident(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with pending_approval(tmp_path, "tok-chat") as (runtime, loop, row):
        with served(runtime, loop) as base:
            browser.get(base + "/chat")
            browser.execute_script("localStorage.setItem('opsgraph_token', 'tok-chat')")
            browser.get(base + "/chat")
            wait = WebDriverWait(browser, 30)
            assert browser.find_element(By.ID, "whoami").text == "token set"

            def ask(question: str) -> None:
                box = browser.find_element(By.ID, "question")
                box.send_keys(question, Keys.ENTER)

            ask("what is wrong?")
            answer = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".msg.bot[data-intent='wrong']")))
            cited = CITATION.findall(answer.text)
            assert cited, answer.text
            assert "fraud-api" in answer.text and row.incident_id in answer.text
            assert set(answer.get_attribute("data-citations").split()) >= set(cited)
            assert all(runtime.store.tool_call(tc) is not None for tc in cited)  # the citations are stored calls

            ask(f"approve {row.id}")
            decided = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".msg.bot[data-intent='decide']")))
            assert f"Approved {row.id}" in decided.text and "alice" in decided.text
            follow = f".msg.bot[data-follow='{row.incident_id}']"
            wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f"{follow}[data-status='resolved']")))
            assert f"Incident {row.incident_id} is now resolved" in browser.find_element(By.CSS_SELECTOR, follow).text
            assert not browser.find_element(By.ID, "error").is_displayed()
        assert runtime.store.approval(row.id).decided_by == "alice"
        assert runtime.store.incident(row.incident_id).status == "resolved"
