"""The web chat (/chat) in real headless Chromium: "what is wrong?" gets a cited answer; approving from the chat
records the decision, the running loop resumes the incident, and the chat shows it resolved.

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

from agents.chat import CITATION
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


def test_chat_answers_with_citations_and_an_approval_resolves_the_incident(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    settings = Settings.from_env(tmp_path / "home").model_copy(update={"memory_enabled": False})
    with Runtime(settings) as runtime:
        (settings.home / "tokens.yaml").write_text(yaml.safe_dump({"tok-chat": {"user": "alice", "roles": ["approver"]}}))
        loop = pending_loop(runtime, tmp_path)
        row = runtime.store.approvals(status="pending")[0]
        loop.interval_s = 0.2
        worker = threading.Thread(target=loop.run, daemon=True)  # the loop keeps running, as under `opsgraph run`
        with serve_app(create_app(settings, runtime=runtime, llm=None)) as base:
            worker.start()
            try:
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
            finally:
                loop.stop.set()
                worker.join(timeout=20)
        assert runtime.store.approval(row.id).decided_by == "alice"
        assert runtime.store.incident(row.incident_id).status == "resolved"
